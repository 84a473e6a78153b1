#pragma once

#include <chrono>
#include <optional>

/// When a lonc child next has something to do (issue 9 §8: idle links cost nothing). The
/// child keeps one timer, armed at the instant next_wakeup returns; on that wakeup it does
/// everything due and asks again. Between wakeups, a change of state that brings a deadline
/// nearer (a request queued, a link up or down, a local client gone, a reload) asks again at
/// once. Waking early is harmless (nothing is due, the timer is re-armed); waking late is not,
/// so every deadline of the child is an input here. Pure: the owner passes in what it knows.
namespace lon::proto {

struct WakeupInput {
    using time_point = std::chrono::steady_clock::time_point;

    time_point now;
    /// The previous timer wakeup: the next is never sooner than `min_gap` after it, so a
    /// deadline that stays due (a bug) costs a bounded rate of wakeups, never a spin.
    time_point last_wakeup;
    std::chrono::milliseconds min_gap{50};

    /// Earliest liveness deadline over the linked connections (next_liveness_check) and the
    /// deadlines of client requests in flight on them that are not answered yet.
    std::optional<time_point> links_due;
    /// Deadline of the oldest queued request (lonc.request_timeout).
    std::optional<time_point> queue_due;

    /// The pool wants another connection (decide_open would open if the backoff allowed);
    /// `next_attempt` is PeerHealth::next_attempt.
    bool connect_wanted = false;
    time_point next_attempt;
    /// DEAD: the title counts whole seconds down to `next_attempt`; each change is a wakeup.
    bool dead = false;
    /// PeerHealth::budget_restore_at: the retry budget comes back (the title changes).
    std::optional<time_point> budget_restore;

    /// Durable requests or acknowledgements wait to be sent: the next flush.
    std::optional<time_point> flush_due;
    /// An ssl attempt beside a plaintext link (upgrade_probe_due) becomes due then.
    std::optional<time_point> upgrade_due;
    /// Nothing holds the child (no local client, nothing queued, in flight or spooled): it
    /// exits at last_activity + idle_timeout.
    std::optional<time_point> idle_exit;
    /// Earliest last_input + lonc.client_idle_timeout over the local clients that may be
    /// closed (nothing outstanding).
    std::optional<time_point> local_idle;
    /// Counters moved since the status file was written: the next write (at most one a second).
    std::optional<time_point> status_due;
    /// A certificate (ours or a linked peer's) ends then, by the wall clock now.
    std::optional<time_point> certificate_end;

    /// Wall-clock checks (our certificate's validity now, a clock that jumped, the daily expiry
    /// warning) have no steady deadline: they run on every wakeup and at the latest at
    /// `next_recheck`. Soft: when a deadline above falls within `recheck_slack` after it, the
    /// wakeup waits for that deadline and does both (one wakeup, not two).
    time_point next_recheck;
    std::chrono::milliseconds recheck_slack{1000};
};

/// The instant of the next timer wakeup: the earliest deadline above (the soft re-check may
/// wait up to recheck_slack for a later one), never before last_wakeup + min_gap. It may be
/// `now` or earlier: something is due at once.
[[nodiscard]] WakeupInput::time_point next_wakeup(const WakeupInput& in);

/// When a DEAD title's "next probe in <s>s" (whole seconds, rounded up) next changes: the
/// next instant the remaining time to `next_probe` crosses a whole second; nullopt once the
/// probe is due.
[[nodiscard]] std::optional<WakeupInput::time_point>
next_countdown_change(WakeupInput::time_point now, WakeupInput::time_point next_probe);

} // namespace lon::proto
