#pragma once

#include <chrono>
#include <optional>

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
    /// The peer answered something on a link (a reply or a keepalive ping). Only a link that
    /// answers counts as up for stable_after: a peer that accepts connections but never
    /// answers (a hung lond) must not get its budget back and so goes DEAD.
    void on_answer();
    /// The last open connection went away. If the link had been up (and answering) for
    /// stable_after, the retry budget is restored first. Next attempt: now.
    void on_all_links_lost(time_point now);
    /// A linked connection was found dead (keepalive unanswered, a request timed out): the
    /// peer stopped answering without closing, which costs a retry like a failed attempt.
    /// With `links_left` other connections still up it is an extra connection's failure
    /// (the budget stops at 1 while linked); with none left, the link is lost and the next
    /// attempt waits the backoff, so a silent peer goes DEAD after `retries` such events.
    void on_link_dead(time_point now, double jitter, int links_left);
    /// Restores the retry budget once the link has been up continuously for stable_after.
    void tick(time_point now);
    /// When tick restores the retry budget: linked, answered, retries spent; else nullopt
    /// (nothing to wait for). The owner's timer wakes then.
    [[nodiscard]] std::optional<time_point> budget_restore_at() const;
    /// An answer came since the link went up (see on_answer).
    [[nodiscard]] bool answered() const { return answered_; }
    /// Operator or inbound-connection revival: full retries, connecting, attempt now.
    void revive(time_point now);
    /// A local request (or durable request) wants this peer. While DEAD the request is still
    /// answered at once (`con_lost`, `con_delayed`), but the next probe is brought forward to
    /// backoff_initial after the last failed attempt, if that is sooner than the scheduled
    /// one: a peer that was only slow to come up (a mass start, a lond restart) is found again
    /// by the traffic that wants it, not minutes later. Probes stay one at a time and at
    /// least backoff_initial apart, so demand cannot turn into a connect flood. Nothing
    /// changes unless DEAD.
    void on_demand();

private:
    HealthPolicy policy_;
    State state_ = State::connecting;
    int retries_;
    int failures_ = 0;            ///< consecutive failed attempts (backoff exponent)
    time_point next_attempt_;
    time_point linked_since_{};
    time_point last_failure_{}; ///< when the last attempt failed (paces demand probes)
    bool answered_ = false; ///< an answer came since the link went up
};

} // namespace lon::proto
