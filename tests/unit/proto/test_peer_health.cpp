#include <catch2/catch.hpp>

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
