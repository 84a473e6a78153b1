#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lon {

using Millis = std::chrono::milliseconds;

/// Parses a duration: a non-negative integer followed by `ms`, `s`, `m`, `h` or `d`;
/// a bare integer means seconds ("30s", "5m", "250ms", "10"). nullopt when malformed.
[[nodiscard]] std::optional<Millis> parse_duration(std::string_view text);

/// The longest duration a config setting takes (365 days; longer ones are config errors):
/// the daemons scale durations (lond.idle_timeout = 4 x lonc.keepalive) and add them to clock
/// readings in nanoseconds, which must not overflow.
inline constexpr Millis max_config_duration{365LL * 24 * 3'600'000};

/// Parses a size in bytes: a non-negative integer followed by nothing or `B`, `KiB`, `MiB`,
/// `GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB` as binary units). nullopt when malformed or
/// overflowing.
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text);

} // namespace lon
