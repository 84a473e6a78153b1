#include "peer_health.hpp"

#include <algorithm>

namespace lon::proto {

using std::chrono::milliseconds;

namespace {

/// `d * factor` (factor in [0.9, 1.1]) with d first capped at ten years, so that neither the
/// product nor `now + result` (steady_clock counts nanoseconds) can overflow, whatever the
/// configured durations.
milliseconds scaled(milliseconds d, double factor) {
    constexpr milliseconds ten_years{10LL * 365 * 24 * 3600 * 1000};
    return std::chrono::round<milliseconds>(std::min(d, ten_years) * factor);
}

} // namespace

PeerHealth::PeerHealth(HealthPolicy policy, time_point now)
    : policy_(policy), retries_(policy.retries), next_attempt_(now) {}

void PeerHealth::on_attempt_failed(time_point now, double jitter) {
    jitter = std::clamp(jitter, 0.0, 1.0);
    last_failure_ = now;
    if (state_ == State::dead) {
        next_attempt_ = now + scaled(policy_.backoff_max, 0.9 + 0.2 * jitter);
        return;
    }
    ++failures_;
    if (state_ == State::linked) {
        // An extra pool connection failed while another one is up: it costs a retry (so the
        // title shows trouble), but a peer that is answering is never declared DEAD, so the
        // budget stops at 1 while linked. Once all links are lost, the next failure kills it.
        retries_ = std::max(1, retries_ - 1);
    } else {
        retries_ = std::max(0, retries_ - 1);
    }
    if (retries_ == 0) {
        state_ = State::dead;
        next_attempt_ = now + scaled(policy_.backoff_max, 0.9 + 0.2 * jitter);
        return;
    }
    // initial * 2^(k-1), capped at max. Doubling stops at the cap, so no product can overflow
    // however large the configured durations are.
    milliseconds delay = std::min(policy_.backoff_initial, policy_.backoff_max);
    for (int k = 1; k < failures_ && delay.count() > 0 && delay < policy_.backoff_max; ++k) {
        delay = delay > policy_.backoff_max / 2 ? policy_.backoff_max : delay * 2;
    }
    next_attempt_ = now + scaled(delay, 1.0 + jitter / 10);
}

// A second pool connection coming up does not restart the stability clock: stable_after
// measures how long the peer has been reachable without a gap.
void PeerHealth::on_linked(time_point now) {
    if (state_ == State::dead) {
        retries_ = policy_.retries; // a successful probe revives the peer
    }
    if (state_ != State::linked) {
        linked_since_ = now;
        answered_ = false;
    }
    state_ = State::linked;
    failures_ = 0;
    next_attempt_ = now;
}

void PeerHealth::on_answer() {
    answered_ = true;
}

void PeerHealth::on_all_links_lost(time_point now) {
    if (state_ == State::linked) {
        if (answered_ && now - linked_since_ >= policy_.stable_after) {
            retries_ = policy_.retries;
        }
        state_ = State::connecting;
    }
    if (state_ != State::dead) { // a DEAD peer keeps its probe schedule
        next_attempt_ = now;
    }
}

void PeerHealth::on_link_dead(time_point now, double jitter, int links_left) {
    if (links_left == 0) {
        on_all_links_lost(now);
    }
    on_attempt_failed(now, jitter);
}

void PeerHealth::tick(time_point now) {
    if (state_ == State::linked && answered_ && now - linked_since_ >= policy_.stable_after) {
        retries_ = policy_.retries;
    }
}

std::optional<PeerHealth::time_point> PeerHealth::budget_restore_at() const {
    if (state_ == State::linked && answered_ && retries_ < policy_.retries) {
        return linked_since_ + policy_.stable_after;
    }
    return std::nullopt;
}

// A revive while linked (USR1 to a healthy child) only refills the budget: the link is up,
// so there is nothing to reconnect.
void PeerHealth::revive(time_point now) {
    retries_ = policy_.retries;
    failures_ = 0;
    if (state_ != State::linked) {
        state_ = State::connecting;
    }
    next_attempt_ = now;
}

void PeerHealth::on_demand() {
    if (state_ != State::dead) {
        return;
    }
    // may_attempt(now) is true once this passes; the owner's timer wakes for it otherwise.
    next_attempt_ = std::min(next_attempt_, last_failure_ + policy_.backoff_initial);
}

} // namespace lon::proto
