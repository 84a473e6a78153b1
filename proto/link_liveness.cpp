#include "link_liveness.hpp"

#include <algorithm>

namespace lon::proto {

LinkLivenessAction check_link_liveness(const LinkLivenessInput& in) {
    if (in.earliest_request_deadline && *in.earliest_request_deadline <= in.now) {
        return LinkLivenessAction::close_request_timeout;
    }
    if (in.ping_deadline) {
        // Past the ping's deadline the peer is gone unless something arrived within the last
        // keepalive (a reply streaming in proves it alive; the ping's answer queues behind).
        return *in.ping_deadline <= in.now && in.now - in.last_received >= in.keepalive
                   ? LinkLivenessAction::close_keepalive_lost
                   : LinkLivenessAction::none;
    }
    return in.now - in.last_received >= in.keepalive ? LinkLivenessAction::send_ping
                                                     : LinkLivenessAction::none;
}

LinkLivenessInput::time_point next_liveness_check(const LinkLivenessInput& in) {
    // Both conditions of close_keepalive_lost, or the quiet keepalive that sends the ping.
    auto quiet = in.last_received + in.keepalive;
    auto due = in.ping_deadline ? std::max(*in.ping_deadline, quiet) : quiet;
    if (in.earliest_request_deadline) {
        due = std::min(due, *in.earliest_request_deadline);
    }
    return due;
}

std::chrono::milliseconds negotiation_timeout(std::chrono::milliseconds handshake,
                                              std::chrono::milliseconds keepalive) {
    return std::min(handshake, 2 * keepalive);
}

} // namespace lon::proto
