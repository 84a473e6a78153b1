#include "log_throttle.hpp"

namespace lon {

std::optional<std::uint64_t> LogThrottle::admit(std::string_view key, time_point now) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        // Forget keys that have been quiet for an interval before refusing new ones (a sweep
        // at most once per interval, so a flood of new keys costs no more than a lookup).
        bool sweep = entries_.size() >= max_keys_ && now - last_sweep_ >= interval_;
        if (sweep) {
            last_sweep_ = now;
        }
        for (auto e = entries_.begin(); sweep && e != entries_.end();) {
            e = (now - e->second.last_logged >= interval_ && e->second.suppressed == 0)
                    ? entries_.erase(e)
                    : std::next(e);
        }
        std::string k = entries_.size() < max_keys_ ? std::string(key) : std::string("*");
        it = entries_.find(k);
        if (it == entries_.end()) {
            entries_.emplace(std::move(k), Entry{now, 0});
            return 0;
        }
    }
    Entry& e = it->second;
    if (now - e.last_logged < interval_) {
        ++e.suppressed;
        return std::nullopt;
    }
    std::uint64_t n = e.suppressed;
    e.suppressed = 0;
    e.last_logged = now;
    return n;
}

} // namespace lon
