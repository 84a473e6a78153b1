#include "peer_health.hpp"

#include <algorithm>

namespace lon::proto {

using std::chrono::milliseconds;

PeerHealth::PeerHealth(HealthPolicy policy, time_point now)
    : policy_(policy), retries_(policy.retries), next_attempt_(now) {}

void PeerHealth::on_attempt_failed(time_point now, double jitter) {
    jitter = std::clamp(jitter, 0.0, 1.0);
    if (state_ == State::dead) {
        next_attempt_ = now + std::chrono::duration_cast<milliseconds>(policy_.backoff_max *
                                                                       (0.9 + 0.2 * jitter));
        return;
    }
    ++failures_;
    if (state_ == State::linked) {
        // An extra pool connection failed while a link is up: it costs a retry, but a peer
        // that is answering is never declared DEAD.
        retries_ = std::max(1, retries_ - 1);
    } else {
        retries_ = std::max(0, retries_ - 1);
    }
    if (retries_ == 0) {
        state_ = State::dead;
        next_attempt_ = now + std::chrono::duration_cast<milliseconds>(policy_.backoff_max *
                                                                       (0.9 + 0.2 * jitter));
        return;
    }
    // initial * 2^(k-1), capped; the shift is bounded so it cannot overflow.
    int exponent = std::min(failures_ - 1, 30);
    auto delay = std::min<milliseconds>(policy_.backoff_initial * (1LL << exponent),
                                        policy_.backoff_max);
    next_attempt_ = now + std::chrono::duration_cast<milliseconds>(delay * (1.0 + jitter / 10));
}

void PeerHealth::on_linked(time_point now) {
    if (state_ == State::dead) {
        retries_ = policy_.retries; // a successful probe revives the peer
    }
    if (state_ != State::linked) {
        linked_since_ = now;
    }
    state_ = State::linked;
    failures_ = 0;
    next_attempt_ = now;
}

void PeerHealth::on_all_links_lost(time_point now) {
    if (state_ == State::linked) {
        if (now - linked_since_ >= policy_.stable_after) {
            retries_ = policy_.retries;
        }
        state_ = State::connecting;
    }
    if (state_ != State::dead) {
        next_attempt_ = now;
    }
}

void PeerHealth::tick(time_point now) {
    if (state_ == State::linked && now - linked_since_ >= policy_.stable_after) {
        retries_ = policy_.retries;
    }
}

void PeerHealth::revive(time_point now) {
    retries_ = policy_.retries;
    failures_ = 0;
    if (state_ != State::linked) {
        state_ = State::connecting;
    }
    next_attempt_ = now;
}

} // namespace lon::proto
