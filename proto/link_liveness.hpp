#pragma once

#include <chrono>
#include <optional>

/// When a pooled lonc connection must be probed or given up (client side). Pure: the owner
/// passes in what it knows about the connection and acts on the answer.
///
/// A connection is probed on schedule whether it is busy or idle: once nothing has been
/// received on it for `keepalive`, a ping goes out; if that ping is not answered within
/// another `keepalive`, or any request on it passes its deadline (lonc.request_timeout), the
/// peer is taken to be gone (powered off, hung, partitioned): the connection is closed and
/// everything in flight on it answered con_lost at once. Receiving anything at all counts as
/// a sign of life, so a link that streams a large reply is never probed mid-line.
namespace lon::proto {

struct LinkLivenessInput {
    using time_point = std::chrono::steady_clock::time_point;
    time_point now;
    time_point last_received;                ///< last byte from the peer (or link-up time)
    std::optional<time_point> ping_deadline; ///< our keepalive ping in flight, if any
    std::optional<time_point> earliest_request_deadline; ///< over client requests in flight
    std::chrono::milliseconds keepalive;
};

enum class LinkLivenessAction {
    none,
    send_ping,            ///< quiet for `keepalive`: send a ping due within `keepalive`
    close_keepalive_lost, ///< the ping was not answered in time
    close_request_timeout ///< a request on this connection ran out of time
};

[[nodiscard]] LinkLivenessAction check_link_liveness(const LinkLivenessInput& in);

/// The first instant at which check_link_liveness answers other than `none` for this
/// connection if nothing arrives meanwhile (`in.now` is not used): when the keepalive ping
/// is due, the unanswered ping closes it, or its earliest request runs out of time. The
/// owner's timer wakes then, not before (proto/wakeup.hpp).
[[nodiscard]] LinkLivenessInput::time_point next_liveness_check(const LinkLivenessInput& in);

/// The deadline of a negotiation (connect, init answer, TLS handshake): the configured
/// handshake timeout, but never more than two keepalive periods, so that a peer whose packets
/// vanish (no SYN-ACK) or whose lond is hung costs a retry as quickly as a silent link does.
[[nodiscard]] std::chrono::milliseconds negotiation_timeout(std::chrono::milliseconds handshake,
                                                            std::chrono::milliseconds keepalive);

} // namespace lon::proto
