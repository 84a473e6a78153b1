// RequestLimiter (daemons/link/request_limiter.hpp): lond's bound on handler requests.

#include <catch2/catch.hpp>

#include <vector>

#include <asio.hpp>

#include "request_limiter.hpp"

using lon::link::RequestLimiter;

TEST_CASE("try_start gives a slot while a place is free and nothing waits", "[request_limiter]") {
    asio::io_context io;
    RequestLimiter limiter(io, 2, 4);
    auto a = limiter.try_start();
    auto b = limiter.try_start();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(limiter.running() == 2);
    CHECK_FALSE(limiter.try_start()); // full: the caller submits instead
    a.reset();                        // a finished job gives its place back
    CHECK(limiter.running() == 1);
    auto c = limiter.try_start();
    CHECK(c);
    CHECK(limiter.running() == 2);
}

TEST_CASE("a job that waits keeps its turn: try_start does not overtake it", "[request_limiter]") {
    asio::io_context io;
    RequestLimiter limiter(io, 1, 4);
    auto first = limiter.try_start();
    REQUIRE(first);
    std::vector<RequestLimiter::SlotPtr> started;
    CHECK(limiter.submit([&](RequestLimiter::SlotPtr s) { started.push_back(std::move(s)); }) ==
          RequestLimiter::Admission::queued);
    CHECK(limiter.queued() == 1);
    CHECK_FALSE(limiter.try_start()); // full, and the queued job is next anyway
    first.reset(); // the place goes to the queued job (started from a posted handler)
    CHECK_FALSE(limiter.try_start());
    io.run();
    REQUIRE(started.size() == 1);
    CHECK(limiter.running() == 1);
    CHECK(limiter.queued() == 0);
    started.clear();
    CHECK(limiter.running() == 0);
    CHECK(limiter.try_start());
}

TEST_CASE("submit starts, queues up to max_queued, then refuses", "[request_limiter]") {
    asio::io_context io;
    RequestLimiter limiter(io, 1, 1);
    RequestLimiter::SlotPtr held;
    int runs = 0;
    CHECK(limiter.submit([&](RequestLimiter::SlotPtr s) {
        ++runs;
        held = std::move(s);
    }) == RequestLimiter::Admission::started);
    CHECK(runs == 1); // a started job runs before submit returns
    CHECK(limiter.submit([&](RequestLimiter::SlotPtr) { ++runs; }) ==
          RequestLimiter::Admission::queued);
    CHECK(limiter.submit([&](RequestLimiter::SlotPtr) { ++runs; }) ==
          RequestLimiter::Admission::refused);
    held.reset();
    io.run();
    CHECK(runs == 2);
    CHECK(limiter.running() == 0);
}
