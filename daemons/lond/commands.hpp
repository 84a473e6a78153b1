#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <asio.hpp>

#include "config.hpp"
#include "handler_pool.hpp"
#include "negotiation.hpp"
#include "request_limiter.hpp"

namespace lon::lond {

/// What a command handler may use: borrowed from the peer server for one request.
class CriticalLog;

struct CommandContext {
    asio::io_context& io;
    const Config& config;
    const std::string& peer;
    proto::Mode mode;
    CriticalLog& critical; ///< durable requests already run for this peer
    /// Bounds lond.handler requests in flight and waiting (nullptr: unbounded).
    link::RequestLimiter* handlers = nullptr;
    /// Persistent connections to lond.handler (nullptr: one connection per request).
    link::HandlerPool* handler_pool = nullptr;
    /// Counts a limit hit under the status counters ("handler_queued", "handler_busy",
    /// "handler_unavailable", "too_long"); may be empty.
    std::function<void(std::string_view)> count = {};
};

/// Longest reply body that fits in a tagged reply line of `max_message_bytes`: a tag takes
/// up to 20 digits and one space.
[[nodiscard]] constexpr std::uint64_t max_reply_bytes(std::uint64_t max_message_bytes) {
    constexpr std::uint64_t tag_overhead = 20 + 1;
    return max_message_bytes > tag_overhead ? max_message_bytes - tag_overhead : 0;
}

using ReplyFn = std::function<void(std::string reply)>;

/// Runs one request from `ctx.peer` and calls `reply` exactly once (maybe later, for pong and
/// handler-forwarded requests). Over an insecure link only lond.insecure_commands are served.
void dispatch(const CommandContext& ctx, std::string_view request, ReplyFn reply);

} // namespace lon::lond
