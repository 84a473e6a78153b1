#pragma once

#include <optional>
#include <string>
#include <string_view>

/// Durable ("critical") requests on the wire: lonc sends `critical:<id>:<request>`; lond runs
/// <request> at most once per id (it records the reply under that id and answers repeats
/// from the record), so lonc may resend a spooled request until it gets an answer.
namespace lon::proto {

struct Critical {
    std::string_view id;
    std::string_view request;
};

/// Ids are [A-Za-z0-9_-]{1,64} (they name files on both sides).
[[nodiscard]] bool valid_critical_id(std::string_view id);
[[nodiscard]] std::string format_critical(std::string_view id, std::string_view request);
/// Whether `body` is a durable request (its command word is `critical`). Durable requests
/// do not nest: an inner request for which this holds is refused (error:bad_request).
[[nodiscard]] bool is_critical(std::string_view body);
/// nullopt unless `body` is `critical:<valid id>:<request>` (one level: `request` is not
/// parsed further).
[[nodiscard]] std::optional<Critical> parse_critical(std::string_view body);

} // namespace lon::proto
