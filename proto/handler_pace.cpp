#include "handler_pace.hpp"

#include <algorithm>
#include <cstdint>

namespace lon::proto {

void HandlerPace::answered(std::chrono::nanoseconds busy, std::size_t replies) {
    if (replies == 0) {
        return;
    }
    // Any pace slower than run_budget / min_run gives runs of min_run; a sample is capped at
    // twice that, so one long stall (a handler paused for seconds) shortens the runs only for
    // the next few reads, not for dozens.
    constexpr std::chrono::nanoseconds cap = 2 * (run_budget / min_run);
    const std::chrono::nanoseconds sample = std::min(
        std::max(busy, std::chrono::nanoseconds(0)) / static_cast<std::int64_t>(replies), cap);
    if (per_reply_.count() == 0) {
        per_reply_ = std::max(sample, std::chrono::nanoseconds(1));
        return;
    }
    // Smoothed over about four reads, so one stall (a descheduled handler, a page fault)
    // shortens the next runs only for a while; a handler that slows down for good is
    // followed within a few reads.
    per_reply_ += (sample - per_reply_) / 4;
    per_reply_ = std::max(per_reply_, std::chrono::nanoseconds(1));
}

std::size_t HandlerPace::run() const {
    if (per_reply_.count() == 0) {
        return min_run;
    }
    auto n = static_cast<std::size_t>(run_budget / per_reply_);
    return std::clamp(n, min_run, max_run);
}

} // namespace lon::proto
