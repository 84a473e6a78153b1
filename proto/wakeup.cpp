#include "wakeup.hpp"

#include <algorithm>

namespace lon::proto {

using time_point = WakeupInput::time_point;

std::optional<time_point> next_countdown_change(time_point now, time_point next_probe) {
    if (next_probe <= now) {
        return std::nullopt;
    }
    // The title shows ceil(left / 1 s); it drops by one each time `left` reaches a whole
    // number of seconds, the last time (to 0) at next_probe itself.
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(next_probe - now);
    auto whole = std::chrono::duration_cast<std::chrono::seconds>(left - std::chrono::nanoseconds(1));
    return next_probe - whole;
}

time_point next_wakeup(const WakeupInput& in) {
    std::optional<time_point> hard;
    auto consider = [&hard](std::optional<time_point> t) {
        if (t && (!hard || *t < *hard)) {
            hard = t;
        }
    };
    consider(in.links_due);
    consider(in.queue_due);
    if (in.connect_wanted) {
        consider(in.next_attempt);
    }
    if (in.dead) {
        consider(next_countdown_change(in.now, in.next_attempt));
    }
    consider(in.budget_restore);
    consider(in.flush_due);
    consider(in.upgrade_due);
    consider(in.idle_exit);
    consider(in.local_idle);
    consider(in.status_due);
    consider(in.certificate_end);

    time_point at = in.next_recheck;
    if (hard && (*hard < in.next_recheck || *hard - in.next_recheck <= in.recheck_slack)) {
        at = *hard; // earlier than the re-check, or soon enough after it to share the wakeup
    }
    return std::max(at, in.last_wakeup + in.min_gap);
}

} // namespace lon::proto
