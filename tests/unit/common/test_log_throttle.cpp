#include <catch2/catch.hpp>

#include "log_throttle.hpp"

using namespace std::chrono_literals;

TEST_CASE("LogThrottle: first event logs, repeats within the interval are counted", "[common]") {
    lon::LogThrottle t(10s, 4);
    auto t0 = std::chrono::steady_clock::time_point{} + 1h;
    CHECK(t.admit("10.0.0.1", t0) == std::optional<std::uint64_t>(0));
    for (int i = 0; i < 1000; ++i) {
        CHECK_FALSE(t.admit("10.0.0.1", t0 + 1s));
    }
    CHECK(t.admit("10.0.0.2", t0 + 1s) == std::optional<std::uint64_t>(0)); // another key
    CHECK_FALSE(t.admit("10.0.0.1", t0 + 9s));
    CHECK(t.admit("10.0.0.1", t0 + 10s) == std::optional<std::uint64_t>(1001));
    CHECK_FALSE(t.admit("10.0.0.1", t0 + 11s));
}

TEST_CASE("LogThrottle: the key map stays bounded under a flood of sources", "[common]") {
    lon::LogThrottle t(10s, 4);
    auto t0 = std::chrono::steady_clock::time_point{} + 1h;
    int logged = 0;
    for (int i = 0; i < 10000; ++i) {
        logged += t.admit("src" + std::to_string(i), t0 + std::chrono::milliseconds(i)).has_value();
    }
    CHECK(t.size() <= 5);
    CHECK(logged <= 5 + 1); // four keys, the overflow key, and one after its interval
    // Quiet keys are forgotten once their interval passed, making room for new ones.
    CHECK(t.admit("late", t0 + 1h) == std::optional<std::uint64_t>(0));
    CHECK(t.size() <= 5);
}
