#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>

/// The CA roster: which hosts the cluster CA has issued a certificate to, as the text the CA
/// signs (the CMS signature is checked by the link layer, daemons/link/roster_file.*):
///   lonlink-roster 1
///   serial <n>                       (the CA's roster counter: a larger one replaces a smaller)
///   issued <YYYY-MM-DDTHH:MM:SSZ>
///   host <lonHostID> <notAfter as Unix seconds>   (one line per host; any number)
/// A listed host is treated as pinned to ssl until its certificate's notAfter (PROTOCOL.md,
/// "CA roster"). Pure: no I/O.
namespace lon::proto {

/// Largest roster text accepted (about 25,000 hosts).
inline constexpr std::size_t max_roster_bytes = 1024 * 1024;

struct Roster {
    std::uint64_t serial = 0;
    std::string issued;                        ///< as signed, for logs and status
    std::map<std::string, std::time_t> hosts;  ///< host id -> latest certificate's notAfter

    /// Whether `id` held an unexpired CA-issued certificate at `now`, per this roster.
    [[nodiscard]] bool lists(const std::string& id, std::time_t now) const;
};

struct RosterParse {
    std::optional<Roster> roster;
    std::string error; ///< why the text is not a roster (when roster is empty)
};

/// Parses the signed text (LF or CRLF line ends). Every line must be understood.
[[nodiscard]] RosterParse parse_roster(std::string_view text);

/// Whether `candidate` may replace `current`: never by an older roster (smaller serial).
[[nodiscard]] bool replaces(const Roster& candidate, const Roster& current);

} // namespace lon::proto
