#include "message.hpp"

#include <charconv>

namespace lon::proto {

std::optional<Tagged> parse_tagged(std::string_view line) {
    auto space = line.find(' ');
    if (space == 0 || space == std::string_view::npos || space > 20) {
        return std::nullopt;
    }
    std::uint64_t tag = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + space, tag);
    if (ec != std::errc{} || p != line.data() + space) {
        return std::nullopt; // not all digits, or over 64 bits
    }
    return Tagged{tag, line.substr(space + 1)};
}

std::string format_tagged(std::uint64_t tag, std::string_view body) {
    std::string out = std::to_string(tag);
    out.reserve(out.size() + body.size() + 2);
    out.push_back(' ');
    out.append(body);
    out.push_back('\n');
    return out;
}

std::string format_tag(std::uint64_t tag) {
    std::string out = std::to_string(tag);
    out.push_back(' ');
    return out;
}

std::string_view command_of(std::string_view request) {
    return request.substr(0, request.find(':'));
}

std::string_view argument_of(std::string_view request) {
    auto colon = request.find(':');
    return colon == std::string_view::npos ? std::string_view() : request.substr(colon + 1);
}

} // namespace lon::proto
