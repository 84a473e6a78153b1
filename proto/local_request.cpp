#include "local_request.hpp"

#include "critical.hpp"

namespace lon::proto {
namespace {

constexpr std::string_view lonc_prefix = "lonc:";
constexpr std::string_view durable_prefix = "lonc:critical:";

std::size_t minus(std::size_t a, std::size_t b) {
    return a > b ? a - b : 0;
}

} // namespace

std::size_t max_local_request(std::size_t max_message_bytes) {
    return minus(max_message_bytes, max_tag_overhead);
}

std::size_t max_durable_request(std::size_t max_message_bytes) {
    // "critical:" + id + ":"
    return minus(max_local_request(max_message_bytes),
                 std::string_view("critical:").size() + max_critical_id + 1);
}

LocalRequest classify_local(std::string_view line, std::size_t max_message_bytes) {
    if (line.substr(0, durable_prefix.size()) == durable_prefix) {
        std::string_view body = line.substr(durable_prefix.size());
        if (is_critical(body) || is_critical_ack(body)) {
            return {LocalKind::bad_request, body};
        }
        if (body.size() > max_durable_request(max_message_bytes)) {
            return {LocalKind::too_long, body};
        }
        return {LocalKind::durable, body};
    }
    if (line.substr(0, lonc_prefix.size()) == lonc_prefix) {
        return {LocalKind::lonc_command, line};
    }
    if (is_critical(line) || is_critical_ack(line)) {
        return {LocalKind::bad_request, line};
    }
    if (line.size() > max_local_request(max_message_bytes)) {
        return {LocalKind::too_long, line};
    }
    return {LocalKind::plain, line};
}

} // namespace lon::proto
