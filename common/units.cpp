#include "units.hpp"

#include <charconv>
#include <limits>

namespace lon {
namespace {

/// Splits "123unit" into its number and unit; nullopt if no digits or overflow.
std::optional<std::pair<std::uint64_t, std::string_view>> split(std::string_view text) {
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || p == text.data()) {
        return std::nullopt;
    }
    std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
    // One space before a unit is tolerated ("16 MiB" reads like "16MiB", as people write it);
    // anything else with spaces ("16 ", "16  MiB", " 16") is a typo worth reporting.
    if (unit.size() > 1 && unit.front() == ' ' && unit[1] != ' ') {
        unit.remove_prefix(1);
    }
    return std::make_pair(n, unit);
}

std::optional<std::uint64_t> times(std::uint64_t n, std::uint64_t factor) {
    if (factor != 0 && n > std::numeric_limits<std::uint64_t>::max() / factor) {
        return std::nullopt;
    }
    return n * factor;
}

} // namespace

std::optional<Millis> parse_duration(std::string_view text) {
    auto parts = split(text);
    if (!parts) {
        return std::nullopt;
    }
    auto [n, unit] = *parts;
    std::uint64_t factor = 0;
    if (unit == "ms") {
        factor = 1;
    } else if (unit.empty() || unit == "s") {
        factor = 1000;
    } else if (unit == "m") {
        factor = 60'000;
    } else if (unit == "h") {
        factor = 3'600'000;
    } else if (unit == "d") {
        factor = 86'400'000;
    } else {
        return std::nullopt;
    }
    auto ms = times(n, factor);
    if (!ms || *ms > static_cast<std::uint64_t>(std::numeric_limits<Millis::rep>::max())) {
        return std::nullopt;
    }
    return Millis(static_cast<Millis::rep>(*ms));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    auto parts = split(text);
    if (!parts) {
        return std::nullopt;
    }
    auto [n, unit] = *parts;
    std::uint64_t factor = 0;
    if (unit.empty() || unit == "B") {
        factor = 1;
    } else if (unit == "K" || unit == "KB" || unit == "KiB") {
        factor = 1ULL << 10;
    } else if (unit == "M" || unit == "MB" || unit == "MiB") {
        factor = 1ULL << 20;
    } else if (unit == "G" || unit == "GB" || unit == "GiB") {
        factor = 1ULL << 30;
    } else {
        return std::nullopt;
    }
    return times(n, factor);
}

} // namespace lon
