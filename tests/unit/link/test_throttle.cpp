// Throttle (daemons/link/throttle.hpp): how often a child rewrites its status file.

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include <asio.hpp>

#include "throttle.hpp"

using lon::link::Throttle;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("the first run comes a gap after construction, requests meanwhile fold into it",
          "[throttle]") {
    asio::io_context io;
    std::vector<Clock::time_point> runs;
    auto made = Clock::now();
    Throttle t(io, 100ms, [&] { runs.push_back(Clock::now()); });
    t.request();
    t.request();
    CHECK(runs.empty()); // not at once: the child has just started
    io.run_for(50ms);
    t.request();
    io.run_for(500ms);
    REQUIRE(runs.size() == 1);
    CHECK(runs[0] - made >= 100ms);
}

TEST_CASE("a request after a quiet gap runs at once; the next within the gap waits for it",
          "[throttle]") {
    asio::io_context io;
    std::vector<Clock::time_point> runs;
    Throttle t(io, 50ms, [&] { runs.push_back(Clock::now()); });
    std::this_thread::sleep_for(60ms); // quiet since construction
    t.request();
    REQUIRE(runs.size() == 1); // synchronously, no timer
    t.request();
    CHECK(runs.size() == 1);
    io.run_for(300ms);
    REQUIRE(runs.size() == 2);
    CHECK(runs[1] - runs[0] >= 50ms);
    io.restart();
    io.run_for(200ms);
    CHECK(runs.size() == 2); // nothing requested since: no further run
}

TEST_CASE("run_now runs at once and takes what was pending", "[throttle]") {
    asio::io_context io;
    int runs = 0;
    Throttle t(io, 50ms, [&] { ++runs; });
    t.request(); // pending, a timer armed
    t.run_now();
    CHECK(runs == 1);
    io.run_for(300ms);
    CHECK(runs == 1); // the timer found nothing left to do
    io.restart();
    t.request(); // within the gap of run_now's run, or just after it: one run either way
    io.run_for(300ms);
    CHECK(runs == 2);
}

TEST_CASE("cancel drops a pending run and refuses later ones", "[throttle]") {
    asio::io_context io;
    int runs = 0;
    Throttle t(io, 50ms, [&] { ++runs; });
    t.request();
    t.cancel();
    io.run_for(300ms);
    CHECK(runs == 0);
    t.request();
    t.run_now();
    CHECK(runs == 0);
}
