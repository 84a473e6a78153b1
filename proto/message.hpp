#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lon::proto {

/// A request or reply line on an established link: "<tag> <body>".
struct Tagged {
    std::uint64_t tag;
    std::string_view body; ///< borrows from the parsed line
};

/// Parses "<decimal tag> <body>" (tag 1..20 digits, exactly one space, body may be empty).
[[nodiscard]] std::optional<Tagged> parse_tagged(std::string_view line);
/// "<tag> <body>\n"
[[nodiscard]] std::string format_tagged(std::uint64_t tag, std::string_view body);
/// The start of a tagged line, "<tag> ": what format_tagged puts before the body.
[[nodiscard]] std::string format_tag(std::uint64_t tag);

/// The command word of a request: the text before the first ':' (the whole line if none).
[[nodiscard]] std::string_view command_of(std::string_view request);
/// The text after the first ':' (empty if none).
[[nodiscard]] std::string_view argument_of(std::string_view request);

} // namespace lon::proto
