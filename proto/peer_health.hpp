#pragma once

#include <chrono>

/// Retry budget, backoff and the DEAD state of one peer (lonc child). Pure: the clock and the
/// jitter are passed in, so tests never sleep.
namespace lon::proto {

struct HealthPolicy {
    int retries = 5;
    std::chrono::milliseconds backoff_initial{1'000};
    std::chrono::milliseconds backoff_max{300'000};
    std::chrono::milliseconds stable_after{30'000};
};

class PeerHealth {
public:
    using time_point = std::chrono::steady_clock::time_point;
    enum class State { connecting, linked, dead };

    PeerHealth(HealthPolicy policy, time_point now);

    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] int retries_remaining() const { return retries_; }
    /// Earliest time the next connection attempt (or DEAD probe) may start.
    [[nodiscard]] time_point next_attempt() const { return next_attempt_; }
    [[nodiscard]] bool may_attempt(time_point now) const { return now >= next_attempt_; }

    /// A connection attempt failed (connect, negotiation or handshake). Costs one retry;
    /// schedules the next attempt after an exponential backoff (initial * 2^k, capped at
    /// max, times (1 + jitter/10)); at zero retries the peer is DEAD and the next probe is
    /// backoff_max * (0.9 + 0.2*jitter) away. jitter in [0,1).
    void on_attempt_failed(time_point now, double jitter);
    /// A connection is up. From DEAD this is a revival (full retries).
    void on_linked(time_point now);
    /// The last open connection went away. If the link had been up for stable_after, the
    /// retry budget is restored first. Next attempt: now.
    void on_all_links_lost(time_point now);
    /// Restores the retry budget once the link has been up continuously for stable_after.
    void tick(time_point now);
    /// Operator or inbound-connection revival: full retries, connecting, attempt now.
    void revive(time_point now);

private:
    HealthPolicy policy_;
    State state_ = State::connecting;
    int retries_;
    int failures_ = 0;            ///< consecutive failed attempts (backoff exponent)
    time_point next_attempt_;
    time_point linked_since_{};
};

} // namespace lon::proto
