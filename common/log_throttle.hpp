#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace lon {

/// Decides which occurrences of a repeated event get a log line: the first one for a key
/// (a source address, a reason), then at most one per `interval`, carrying the number of
/// occurrences that were not logged since. A flood of refusals or accept errors thus costs a
/// few lines per interval, never a line per event. Pure: the clock is passed in.
/// At most `max_keys` keys are tracked; past that, new keys share one overflow key ("*"),
/// so the map itself is bounded whatever the number of sources.
class LogThrottle {
public:
    using time_point = std::chrono::steady_clock::time_point;

    explicit LogThrottle(std::chrono::milliseconds interval = std::chrono::seconds(10),
                         std::size_t max_keys = 1024)
        : interval_(interval), max_keys_(max_keys) {}

    /// nullopt: stay silent. Otherwise log now; the value is the count of occurrences of
    /// this key suppressed since its last line (0 for the first).
    [[nodiscard]] std::optional<std::uint64_t> admit(std::string_view key, time_point now);

    /// Keys tracked now (bounded by max_keys + 1).
    [[nodiscard]] std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        time_point last_logged;
        std::uint64_t suppressed = 0;
    };

    std::chrono::milliseconds interval_;
    std::size_t max_keys_;
    std::map<std::string, Entry, std::less<>> entries_;
    time_point last_sweep_{};
};

} // namespace lon
