#include <catch2/catch.hpp>

#include <vector>

#include "peer_health.hpp"

using namespace lon::proto;
using namespace std::chrono_literals;
using State = PeerHealth::State;

namespace {

const HealthPolicy policy{3, 1000ms, 8000ms, 30000ms};
const PeerHealth::time_point t0{std::chrono::hours(1)};

} // namespace

TEST_CASE("PeerHealth: failures cost retries with doubling backoff, then DEAD", "[proto]") {
    PeerHealth h(policy, t0);
    CHECK(h.state() == State::connecting);
    CHECK(h.retries_remaining() == 3);
    CHECK(h.may_attempt(t0));
    h.on_attempt_failed(t0, 0.0);
    CHECK(h.retries_remaining() == 2);
    CHECK(h.next_attempt() == t0 + 1000ms);
    CHECK_FALSE(h.may_attempt(t0 + 999ms));
    CHECK(h.may_attempt(t0 + 1000ms));
    h.on_attempt_failed(t0 + 1000ms, 0.0);
    CHECK(h.retries_remaining() == 1);
    CHECK(h.next_attempt() == t0 + 3000ms);
    h.on_attempt_failed(t0 + 3000ms, 0.0);
    CHECK(h.retries_remaining() == 0);
    CHECK(h.state() == State::dead);
    // DEAD probes come every backoff_max, jittered by +-10 %.
    CHECK(h.next_attempt() == t0 + 3000ms + 7200ms);
    h.on_attempt_failed(t0 + 10200ms, 1.0);
    CHECK(h.state() == State::dead);
    CHECK(h.next_attempt() == t0 + 10200ms + 8800ms);
}

TEST_CASE("PeerHealth: backoff is capped at backoff_max and jitter adds at most 10 %",
          "[proto]") {
    HealthPolicy many{20, 1000ms, 4000ms, 30000ms};
    PeerHealth h(many, t0);
    auto now = t0;
    for (int i = 0; i < 5; ++i) {
        h.on_attempt_failed(now, 0.0);
        now = h.next_attempt();
    }
    auto before = now;
    h.on_attempt_failed(now, 0.999);
    auto delay = h.next_attempt() - before;
    CHECK(delay >= 4000ms);
    CHECK(delay <= 4400ms);
}

TEST_CASE("PeerHealth: a successful probe revives a DEAD peer with full retries", "[proto]") {
    PeerHealth h(policy, t0);
    for (int i = 0; i < 3; ++i) {
        h.on_attempt_failed(h.next_attempt(), 0.5);
    }
    REQUIRE(h.state() == State::dead);
    h.on_linked(h.next_attempt());
    CHECK(h.state() == State::linked);
    CHECK(h.retries_remaining() == 3);
}

TEST_CASE("PeerHealth: retries reset only after the link stayed up for stable_after",
          "[proto]") {
    PeerHealth h(policy, t0);
    h.on_attempt_failed(t0, 0.0);
    h.on_linked(t0 + 1000ms);
    CHECK(h.retries_remaining() == 2);
    h.tick(t0 + 1000ms + 30000ms);
    CHECK(h.retries_remaining() == 2); // up, but nothing answered yet: not proven
    h.on_answer();
    h.tick(t0 + 1000ms + 29999ms);
    CHECK(h.retries_remaining() == 2);
    h.tick(t0 + 1000ms + 30000ms);
    CHECK(h.retries_remaining() == 3);
}

TEST_CASE("PeerHealth: a short-lived link does not restore the budget", "[proto]") {
    PeerHealth h(policy, t0);
    h.on_attempt_failed(t0, 0.0);
    h.on_linked(t0 + 1s);
    h.on_all_links_lost(t0 + 2s);
    CHECK(h.state() == State::connecting);
    CHECK(h.retries_remaining() == 2);
    CHECK(h.may_attempt(t0 + 2s)); // reconnect at once after a drop
    h.on_attempt_failed(t0 + 2s, 0.0);
    CHECK(h.retries_remaining() == 1);

    PeerHealth stable(policy, t0);
    stable.on_attempt_failed(t0, 0.0);
    stable.on_linked(t0 + 1s);
    stable.on_answer();
    stable.on_all_links_lost(t0 + 40s);
    CHECK(stable.retries_remaining() == 3);
}

TEST_CASE("PeerHealth: a failed extra connection never kills a linked peer", "[proto]") {
    PeerHealth h(HealthPolicy{1, 1000ms, 8000ms, 30000ms}, t0);
    h.on_linked(t0);
    h.on_attempt_failed(t0 + 1s, 0.0);
    CHECK(h.state() == State::linked);
    CHECK(h.retries_remaining() == 1);
}

TEST_CASE("PeerHealth: revive restores retries and allows an attempt now", "[proto]") {
    PeerHealth h(policy, t0);
    for (int i = 0; i < 3; ++i) {
        h.on_attempt_failed(h.next_attempt(), 0.0);
    }
    REQUIRE(h.state() == State::dead);
    auto now = t0 + 5s; // DEAD since t0+3s, next probe at t0+10.2s
    REQUIRE_FALSE(h.may_attempt(now));
    h.revive(now);
    CHECK(h.state() == State::connecting);
    CHECK(h.retries_remaining() == 3);
    CHECK(h.may_attempt(now));
}

TEST_CASE("PeerHealth: jitter scales each delay by 1 + jitter/10", "[proto]") {
    HealthPolicy p{10, 1000ms, 60000ms, 30000ms};
    PeerHealth h(p, t0);
    h.on_attempt_failed(t0, 0.5);
    CHECK(h.next_attempt() == t0 + 1050ms);
    h.on_attempt_failed(t0, 0.0);
    CHECK(h.next_attempt() == t0 + 2000ms);
    h.on_attempt_failed(t0, 0.25);
    CHECK(h.next_attempt() == t0 + 4100ms);
    // Out-of-range jitter is clamped to [0, 1].
    h.on_attempt_failed(t0, -3.0);
    CHECK(h.next_attempt() == t0 + 8000ms);
    h.on_attempt_failed(t0, 7.0);
    CHECK(h.next_attempt() == t0 + 17600ms);
}

TEST_CASE("PeerHealth: the exact backoff sequence up to the cap", "[proto]") {
    HealthPolicy p{100, 250ms, 5000ms, 30000ms};
    PeerHealth h(p, t0);
    std::vector<std::chrono::milliseconds> delays;
    for (int i = 0; i < 8; ++i) {
        h.on_attempt_failed(t0, 0.0);
        delays.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(h.next_attempt() - t0));
    }
    CHECK(delays == std::vector<std::chrono::milliseconds>{250ms, 500ms, 1000ms, 2000ms, 4000ms,
                                                            5000ms, 5000ms, 5000ms});
    CHECK(h.retries_remaining() == 92);
}

TEST_CASE("PeerHealth: huge configured durations do not overflow", "[proto]") {
    HealthPolicy p{1000, std::chrono::milliseconds(std::chrono::hours(24 * 365 * 1000)),
                   std::chrono::milliseconds(std::chrono::hours(24 * 365 * 2000)), 30000ms};
    PeerHealth h(p, t0);
    for (int i = 0; i < 100; ++i) {
        h.on_attempt_failed(t0, 1.0);
        REQUIRE(h.next_attempt() > t0);
    }
    CHECK(h.state() == State::connecting);
    CHECK(h.next_attempt() - t0 >= std::chrono::hours(24 * 365 * 10)); // capped, still far off
}

TEST_CASE("PeerHealth: one retry means the first failure is DEAD", "[proto]") {
    PeerHealth h(HealthPolicy{1, 1000ms, 8000ms, 30000ms}, t0);
    h.on_attempt_failed(t0, 0.5);
    CHECK(h.state() == State::dead);
    CHECK(h.retries_remaining() == 0);
    CHECK(h.next_attempt() == t0 + 8000ms); // 0.9 + 0.2 * 0.5 = 1.0
    CHECK_FALSE(h.may_attempt(t0 + 7999ms));
    CHECK(h.may_attempt(t0 + 8000ms));
}

TEST_CASE("PeerHealth: losing all links while DEAD keeps the probe schedule", "[proto]") {
    PeerHealth h(HealthPolicy{1, 1000ms, 8000ms, 30000ms}, t0);
    h.on_attempt_failed(t0, 0.0);
    REQUIRE(h.state() == State::dead);
    auto probe = h.next_attempt();
    h.on_all_links_lost(t0 + 1s);
    CHECK(h.state() == State::dead);
    CHECK(h.next_attempt() == probe);
    h.tick(t0 + 1h); // nothing to restore while DEAD
    CHECK(h.retries_remaining() == 0);
}

TEST_CASE("PeerHealth: failures while linked floor at 1, the next one after a drop kills",
          "[proto]") {
    PeerHealth h(policy, t0); // 3 retries
    h.on_linked(t0);
    for (int i = 0; i < 5; ++i) {
        h.on_attempt_failed(t0 + 1s, 0.0);
        CHECK(h.state() == State::linked);
    }
    CHECK(h.retries_remaining() == 1);
    h.on_all_links_lost(t0 + 2s); // up only 2 s: no refill
    CHECK(h.state() == State::connecting);
    CHECK(h.retries_remaining() == 1);
    h.on_attempt_failed(t0 + 2s, 0.0);
    CHECK(h.state() == State::dead);
}

TEST_CASE("PeerHealth: a second connection does not restart the stability clock", "[proto]") {
    PeerHealth h(policy, t0);
    h.on_attempt_failed(t0, 0.0);
    h.on_linked(t0 + 1s);
    h.on_answer();
    h.on_linked(t0 + 20s); // another pool connection opened
    h.tick(t0 + 31s);       // 30 s after the first link
    CHECK(h.retries_remaining() == 3);
}

TEST_CASE("PeerHealth: linking resets the backoff exponent", "[proto]") {
    PeerHealth h(HealthPolicy{10, 1000ms, 60000ms, 30000ms}, t0);
    h.on_attempt_failed(t0, 0.0);
    h.on_attempt_failed(t0, 0.0);
    h.on_attempt_failed(t0, 0.0);
    CHECK(h.next_attempt() == t0 + 4000ms);
    h.on_linked(t0 + 5s);
    CHECK(h.next_attempt() == t0 + 5s);
    h.on_all_links_lost(t0 + 6s);
    CHECK(h.next_attempt() == t0 + 6s); // reconnect at once
    h.on_attempt_failed(t0 + 6s, 0.0);
    CHECK(h.next_attempt() == t0 + 7s); // back to backoff_initial
    CHECK(h.retries_remaining() == 6);
}

TEST_CASE("PeerHealth: revive resets the backoff and keeps a linked peer linked", "[proto]") {
    PeerHealth h(HealthPolicy{10, 1000ms, 60000ms, 30000ms}, t0);
    for (int i = 0; i < 4; ++i) {
        h.on_attempt_failed(t0, 0.0);
    }
    h.revive(t0 + 1s);
    CHECK(h.state() == State::connecting);
    CHECK(h.retries_remaining() == 10);
    h.on_attempt_failed(t0 + 1s, 0.0);
    CHECK(h.next_attempt() == t0 + 2s); // initial again, not 16 s

    PeerHealth linked(policy, t0);
    linked.on_attempt_failed(t0, 0.0);
    linked.on_linked(t0 + 1s);
    linked.revive(t0 + 2s);
    CHECK(linked.state() == State::linked);
    CHECK(linked.retries_remaining() == 3);
}

TEST_CASE("PeerHealth: a link found dead costs a retry; a silent peer goes DEAD", "[proto]") {
    PeerHealth h(policy, t0);
    h.on_linked(t0);
    h.on_answer();
    // The last link dies after it was stable: budget restored, then one retry spent.
    h.on_link_dead(t0 + 60s, 0.0, 0);
    CHECK(h.state() == State::connecting);
    CHECK(h.retries_remaining() == 2);
    CHECK(h.next_attempt() == t0 + 60s + 1000ms);
    h.on_attempt_failed(t0 + 61s, 0.0);
    h.on_attempt_failed(t0 + 63s, 0.0);
    CHECK(h.state() == State::dead);

    SECTION("a link that never answered does not earn its budget back (a mute peer)") {
        PeerHealth g(policy, t0);
        for (int i = 0; i < 3; ++i) {
            g.on_linked(g.next_attempt());
            g.tick(g.next_attempt() + 60s);
            g.on_link_dead(g.next_attempt() + 60s, 0.0, 0);
        }
        CHECK(g.state() == State::dead);
    }
    SECTION("with another link still up it never kills the peer") {
        PeerHealth g(policy, t0);
        g.on_linked(t0);
        for (int i = 0; i < 10; ++i) {
            g.on_link_dead(t0 + 1s, 0.0, 1);
        }
        CHECK(g.state() == State::linked);
        CHECK(g.retries_remaining() == 1);
    }
    SECTION("an unstable link's death spends from the current budget") {
        PeerHealth g(policy, t0);
        g.on_attempt_failed(t0, 0.0); // 2 left
        g.on_linked(t0 + 1s);
        g.on_link_dead(t0 + 2s, 0.0, 0); // not stable: 1 left
        CHECK(g.retries_remaining() == 1);
        CHECK(g.state() == State::connecting);
    }
}

TEST_CASE("PeerHealth: the budget comes back at budget_restore_at, and only then",
          "[proto][idle_wakeups]") {
    PeerHealth h(policy, t0);
    CHECK_FALSE(h.budget_restore_at()); // nothing spent
    h.on_attempt_failed(t0, 0.0);
    CHECK_FALSE(h.budget_restore_at()); // not linked
    h.on_linked(t0 + 1000ms);
    CHECK_FALSE(h.budget_restore_at()); // not answered: nothing to wait for
    CHECK_FALSE(h.answered());
    h.on_answer();
    CHECK(h.answered());
    REQUIRE(h.budget_restore_at());
    auto at = *h.budget_restore_at();
    CHECK(at == t0 + 31000ms);
    h.tick(at - 1ms);
    CHECK(h.retries_remaining() == 2);
    h.tick(at);
    CHECK(h.retries_remaining() == 3);
    CHECK_FALSE(h.budget_restore_at()); // restored: no wakeup left for it
}

TEST_CASE("PeerHealth: demand brings a DEAD peer's probe forward to backoff_initial after the "
          "last failure, never sooner",
          "[proto][dead_demand]") {
    PeerHealth h(HealthPolicy{1, 1000ms, 8000ms, 30000ms}, t0);
    h.on_attempt_failed(t0, 0.5);
    REQUIRE(h.state() == State::dead);
    REQUIRE(h.next_attempt() == t0 + 8000ms);
    // A local request 200 ms later: the probe may start 1 s after the failure, not 8 s.
    h.on_demand();
    CHECK(h.state() == State::dead); // still DEAD: the request itself is answered con_lost
    CHECK(h.next_attempt() == t0 + 1000ms);
    CHECK_FALSE(h.may_attempt(t0 + 999ms));
    CHECK(h.may_attempt(t0 + 1000ms));
    // That probe fails too: the next is backoff_max away again, demand or not, until
    // backoff_initial has passed since this failure.
    h.on_attempt_failed(t0 + 1000ms, 0.5);
    CHECK(h.next_attempt() == t0 + 9000ms);
    h.on_demand();
    CHECK(h.next_attempt() == t0 + 2000ms);
    // Demand much later: the probe may start now (the schedule never moves into the past
    // beyond "now is allowed").
    h.on_attempt_failed(t0 + 2000ms, 0.5);
    h.on_demand();
    CHECK(h.may_attempt(t0 + 5000ms));
    // A successful probe revives with full retries, as ever.
    h.on_linked(t0 + 5100ms);
    CHECK(h.state() == State::linked);
    CHECK(h.retries_remaining() == 1);
}

TEST_CASE("PeerHealth: demand changes nothing unless DEAD", "[proto][dead_demand]") {
    PeerHealth h(policy, t0);
    h.on_attempt_failed(t0, 0.0);
    REQUIRE(h.state() == State::connecting);
    auto next = h.next_attempt();
    h.on_demand();
    CHECK(h.next_attempt() == next); // the backoff of a connecting peer stands
    CHECK(h.retries_remaining() == 2);
    // backoff_initial above backoff_max: the DEAD probe is never pushed later by demand.
    PeerHealth odd(HealthPolicy{1, 20000ms, 8000ms, 30000ms}, t0);
    odd.on_attempt_failed(t0, 0.5);
    REQUIRE(odd.next_attempt() == t0 + 8000ms);
    odd.on_demand();
    CHECK(odd.next_attempt() == t0 + 8000ms);
}
