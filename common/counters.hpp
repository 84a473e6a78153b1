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

    /// Where one counter's value lives: counted without looking its name up (a counter of
    /// every request). Valid as long as the Counters it came from.
    class Slot {
    public:
        Slot() = default;

    private:
        friend class Counters;
        explicit Slot(std::uint64_t* value) : value_(value) {}
        std::uint64_t* value_ = nullptr;
    };

    /// Adds `n` to counter `name` (created on first use).
    void add(std::string_view name, std::uint64_t n = 1);
    /// Counter `name`'s slot (created now if need be), for add(Slot).
    [[nodiscard]] Slot slot(std::string_view name);
    /// The same as add(name, n) for the counter `s` came from.
    void add(Slot s, std::uint64_t n = 1) {
        *s.value_ += n;
        ++version_;
    }
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
