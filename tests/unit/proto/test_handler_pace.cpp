#include <catch2/catch.hpp>

#include "handler_pace.hpp"

using namespace lon::proto;
using namespace std::chrono_literals;

TEST_CASE("handler pace: runs of 16 until the handler has answered", "[handler_pace]") {
    HandlerPace p;
    CHECK(p.run() == HandlerPace::min_run);
    CHECK(p.per_reply() == 0ns);
    p.answered(5ms, 0); // no reply: no pace
    CHECK(p.run() == HandlerPace::min_run);
}

TEST_CASE("handler pace: a fast handler gets long runs, up to 64", "[handler_pace]") {
    HandlerPace p;
    p.answered(640us, 16); // 40 us per reply: 25 fit in 1 ms
    CHECK(p.per_reply() == 40us);
    CHECK(p.run() == 25);
    HandlerPace q;
    q.answered(16us, 16); // 1 us per reply: 1,000 would fit, the bound is 64
    CHECK(q.run() == 64);   // PROTOCOL.md: at most 64 (a slow request holds up at most 63)
    CHECK(HandlerPace::max_run == 64);
    HandlerPace z;
    z.answered(0ns, 32); // replies already there: no division by zero, the longest run
    CHECK(z.run() == HandlerPace::max_run);
}

TEST_CASE("handler pace: a slow handler keeps runs of 16, so a burst spreads",
          "[handler_pace]") {
    HandlerPace p;
    p.answered(32ms, 16); // 2 ms per reply
    CHECK(p.run() == HandlerPace::min_run);
    HandlerPace q;
    q.answered(1600us, 16); // 100 us per reply: 10 fit in 1 ms, still the floor of 16
    CHECK(q.run() == HandlerPace::min_run);
}

TEST_CASE("handler pace: smoothed, follows a handler that slows down within a few reads",
          "[handler_pace]") {
    HandlerPace p;
    p.answered(640us, 16); // 40 us
    REQUIRE(p.run() == 25);
    p.answered(16ms, 16); // one slow read (1 ms per reply, capped at 125 us): 40 + 85 / 4
    CHECK(p.per_reply() == 61250ns);
    CHECK(p.run() == HandlerPace::min_run);
    for (int i = 0; i < 30; ++i) {
        p.answered(640us, 16);
    }
    CHECK(p.run() >= 24); // back to fast (24-25: the average approaches 40 us from above)
    for (int i = 0; i < 6; ++i) {
        p.answered(32ms, 16);
    }
    CHECK(p.run() == HandlerPace::min_run); // slow for good: short runs again
}

TEST_CASE("handler pace: one long stall shortens the runs for a few reads only",
          "[handler_pace]") {
    HandlerPace p;
    p.answered(640us, 16); // 40 us: runs of 25
    p.answered(10s, 1);    // the handler was stopped for 10 s
    CHECK(p.run() == HandlerPace::min_run);
    int reads = 0;
    while (p.run() == HandlerPace::min_run && reads < 100) {
        p.answered(640us, 16);
        ++reads;
    }
    CHECK(reads <= 4); // without the cap: about 40 reads
}
