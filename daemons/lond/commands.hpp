#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <asio.hpp>

#include "config.hpp"
#include "negotiation.hpp"

namespace lon::lond {

/// What a command handler may use: borrowed from the peer server for one request.
class CriticalLog;

struct CommandContext {
    asio::io_context& io;
    const Config& config;
    const std::string& peer;
    proto::Mode mode;
    CriticalLog& critical; ///< durable requests already run for this peer
};

using ReplyFn = std::function<void(std::string reply)>;

/// Runs one request from `ctx.peer` and calls `reply` exactly once (maybe later, for pong and
/// handler-forwarded requests). Over an insecure link only lond.insecure_commands are served.
void dispatch(const CommandContext& ctx, std::string_view request, ReplyFn reply);

} // namespace lon::lond
