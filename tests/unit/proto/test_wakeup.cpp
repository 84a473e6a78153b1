#include <catch2/catch.hpp>

#include "wakeup.hpp"

using namespace lon::proto;
using namespace std::chrono_literals;

namespace {

const WakeupInput::time_point t0{std::chrono::hours(1)};

/// An idle linked child at t0 + `now`: its last wakeup long ago, the re-check a keepalive away.
WakeupInput idle_at(std::chrono::milliseconds now) {
    WakeupInput in;
    in.now = t0 + now;
    in.last_wakeup = t0;
    in.next_attempt = t0;
    in.next_recheck = t0 + 30s;
    return in;
}

} // namespace

TEST_CASE("Wakeup: an idle linked child wakes for its keepalive and re-check only",
          "[proto][idle_wakeups]") {
    auto in = idle_at(1s);
    in.links_due = t0 + 31s; // the keepalive ping, 30 s after the last reply
    in.idle_exit = t0 + 300s;
    // The re-check (t0 + 30 s) waits for the ping a second later: one wakeup for both.
    CHECK(next_wakeup(in) == t0 + 31s);
    in.links_due = t0 + 32s; // beyond the slack: two wakeups
    CHECK(next_wakeup(in) == t0 + 30s);
    in.links_due = t0 + 20s;
    CHECK(next_wakeup(in) == t0 + 20s);
    // Nothing but the re-check (no link: a child waiting for its first client request).
    in.links_due.reset();
    in.idle_exit.reset();
    CHECK(next_wakeup(in) == t0 + 30s);
}

TEST_CASE("Wakeup: every deadline is honoured, the earliest first", "[proto][idle_wakeups]") {
    auto in = idle_at(1s);
    in.links_due = t0 + 29s;
    in.queue_due = t0 + 5s;
    CHECK(next_wakeup(in) == t0 + 5s);
    in.status_due = t0 + 2s;
    CHECK(next_wakeup(in) == t0 + 2s);
    in.local_idle = t0 + 1500ms;
    CHECK(next_wakeup(in) == t0 + 1500ms);
    in.certificate_end = t0 + 1200ms;
    CHECK(next_wakeup(in) == t0 + 1200ms);
    in.budget_restore = t0 + 1100ms;
    CHECK(next_wakeup(in) == t0 + 1100ms);
    in.flush_due = t0 + 1050ms;
    CHECK(next_wakeup(in) == t0 + 1050ms);
    in.upgrade_due = t0 + 1010ms;
    CHECK(next_wakeup(in) == t0 + 1010ms);
    in.idle_exit = t0 + 1005ms;
    CHECK(next_wakeup(in) == t0 + 1005ms);
}

TEST_CASE("Wakeup: a connection attempt waits for the backoff only when one is wanted",
          "[proto][idle_wakeups]") {
    auto in = idle_at(1s);
    in.next_attempt = t0 + 3s;
    CHECK(next_wakeup(in) == t0 + 30s); // linked: the backoff time means nothing
    in.connect_wanted = true;
    CHECK(next_wakeup(in) == t0 + 3s);
    in.next_attempt = t0; // due already: at once
    CHECK(next_wakeup(in) == t0 + 50ms);
}

TEST_CASE("Wakeup: a DEAD child wakes when its countdown title changes",
          "[proto][idle_wakeups]") {
    CHECK(next_countdown_change(t0, t0 + 2500ms) == t0 + 500ms);
    CHECK(next_countdown_change(t0, t0 + 2000ms) == t0 + 1000ms);
    CHECK(next_countdown_change(t0, t0 + 300ms) == t0 + 300ms);
    CHECK_FALSE(next_countdown_change(t0, t0));
    CHECK_FALSE(next_countdown_change(t0 + 1s, t0));
    auto in = idle_at(0ms);
    in.last_wakeup = t0 - 1s;
    in.dead = true;
    in.next_attempt = t0 + 300s;
    CHECK(next_wakeup(in) == t0 + 1s);
}

TEST_CASE("Wakeup: a deadline that stays due costs a bounded rate, never a spin",
          "[proto][idle_wakeups]") {
    auto in = idle_at(1s);
    in.last_wakeup = t0 + 990ms;
    in.queue_due = t0; // overdue
    CHECK(next_wakeup(in) == t0 + 1040ms);
    in.min_gap = 200ms;
    CHECK(next_wakeup(in) == t0 + 1190ms);
}
