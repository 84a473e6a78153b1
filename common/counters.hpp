#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

namespace lon {

/// Named event counters of one process (limit hits, timeouts, refusals), shown in its status
/// as a JSON object so that an admin sees every bound that was reached. The names given at
/// construction are listed even while zero, so the status shows which counters exist.
class Counters {
public:
    Counters(std::initializer_list<std::string_view> names);

    /// Adds `n` to counter `name` (created on first use).
    void add(std::string_view name, std::uint64_t n = 1);
    [[nodiscard]] std::uint64_t get(std::string_view name) const;
    /// Bumped on every add: lets the owner notice that its status is stale.
    [[nodiscard]] std::uint64_t version() const { return version_; }
    /// Every counter by name (sorted).
    [[nodiscard]] const std::map<std::string, std::uint64_t, std::less<>>& values() const {
        return values_;
    }
    /// {"name":value,...}, names sorted.
    [[nodiscard]] std::string json() const;

private:
    std::map<std::string, std::uint64_t, std::less<>> values_;
    std::uint64_t version_ = 0;
};

} // namespace lon
