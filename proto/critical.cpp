#include "critical.hpp"

#include "host_table.hpp"
#include "message.hpp"

namespace lon::proto {

bool valid_critical_id(std::string_view id) {
    return valid_host_id(id); // same alphabet and length: safe as a file name
}

std::string format_critical(std::string_view id, std::string_view request) {
    return "critical:" + std::string(id) + ":" + std::string(request);
}

bool is_critical(std::string_view body) {
    return command_of(body) == "critical";
}

std::optional<Critical> parse_critical(std::string_view body) {
    constexpr std::string_view prefix = "critical:";
    if (body.substr(0, prefix.size()) != prefix) {
        return std::nullopt;
    }
    body.remove_prefix(prefix.size());
    auto colon = body.find(':');
    if (colon == std::string_view::npos || !valid_critical_id(body.substr(0, colon))) {
        return std::nullopt;
    }
    return Critical{body.substr(0, colon), body.substr(colon + 1)};
}

} // namespace lon::proto
