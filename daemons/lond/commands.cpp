#include "commands.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

#include "critical.hpp"
#include "critical_log.hpp"
#include "message.hpp"
#include "replies.hpp"
#include "unix_request.hpp"

namespace lon::lond {
namespace {

bool allowed_insecure(const Config& cfg, std::string_view command) {
    const auto& list = cfg.lond.insecure_commands;
    return std::find(list.begin(), list.end(), command) != list.end();
}

std::string load_percent(double load_limit) {
    double avg[1] = {0.0};
    if (::getloadavg(avg, 1) < 1) {
        return "error:load_unavailable";
    }
    return fmt::format("{:.2f}", avg[0] / load_limit * 100.0);
}

/// pong: ask our own lonc to ping the requester back, so one request proves both directions.
void pong(const CommandContext& ctx, ReplyFn reply) {
    auto path = ctx.config.paths.socket_dir / ctx.peer;
    link::unix_request(ctx.io, path, "ping", ctx.config.limits.max_message_bytes,
                       ctx.config.lonc.request_timeout,
                       [own = ctx.config.host_id, reply = std::move(reply)](
                           std::error_code ec, std::string back) {
                           reply(own + ":" +
                                 (ec ? std::string(proto::replies::con_lost) : back));
                       });
}

/// One request to lond.handler, pipelined on the child's pool of handler connections (or,
/// without a pool, on a unix connection of its own). A reply too long to be sent back in a
/// tagged line is answered error:too_long; a handler that cannot be reached (no socket, no
/// descriptor left, its connection broke, timeout) error:handler_unavailable, for this
/// request only. The slot is held until the reply is handed on.
void run_handler_request(const CommandContext& ctx, std::string line,
                         link::RequestLimiter::SlotPtr slot, ReplyFn reply) {
    auto done = [slot = std::move(slot), count = ctx.count, reply = std::move(reply)](
                    std::error_code ec, std::string back) {
        if (ec == asio::error::not_found) { // no '\n' within the reply limit
            if (count) {
                count("too_long");
            }
            reply(std::string(proto::replies::too_long));
            return;
        }
        if (ec && count) {
            count("handler_unavailable");
        }
        reply(ec ? "error:handler_unavailable" : std::move(back));
    };
    if (ctx.handler_pool != nullptr) {
        ctx.handler_pool->submit(std::move(line), std::move(done));
        return;
    }
    link::unix_request(ctx.io, *ctx.config.lond.handler, std::move(line),
                       max_reply_bytes(ctx.config.limits.max_message_bytes),
                       ctx.config.lonc.request_timeout, std::move(done));
}

/// Bounded by ctx.handlers: over lond.max_handler_requests the request waits its turn, over
/// lond.max_handler_queue as well it is answered error:busy at once.
void forward_to_handler(const CommandContext& ctx, std::string_view request, ReplyFn reply) {
    std::string line; // "<peer>:<request>", built in one allocation
    line.reserve(ctx.peer.size() + 1 + request.size());
    line.append(ctx.peer).append(1, ':').append(request);
    if (ctx.handlers == nullptr) {
        run_handler_request(ctx, std::move(line), nullptr, std::move(reply));
        return;
    }
    if (auto slot = ctx.handlers->try_start()) {
        run_handler_request(ctx, std::move(line), std::move(slot), std::move(reply));
        return;
    }
    // The job may run later: it keeps what it needs by value (the context's referents live
    // as long as the lond child).
    auto shared_reply = std::make_shared<ReplyFn>(std::move(reply));
    auto admission = ctx.handlers->submit(
        [ctx, line = std::move(line), shared_reply](link::RequestLimiter::SlotPtr slot) mutable {
            run_handler_request(ctx, std::move(line), std::move(slot), std::move(*shared_reply));
        });
    if (admission == link::RequestLimiter::Admission::refused) {
        if (ctx.count) {
            ctx.count("handler_busy");
        }
        (*shared_reply)("error:busy");
    } else if (admission == link::RequestLimiter::Admission::queued && ctx.count) {
        ctx.count("handler_queued");
    }
}

/// Runs a request that is not a durable one (the insecure gate included).
void dispatch_plain(const CommandContext& ctx, std::string_view request, ReplyFn reply);

} // namespace

void dispatch(const CommandContext& ctx, std::string_view request, ReplyFn reply) {
    if (proto::is_critical_ack(request)) {
        // lonc is done with these durable requests: their records can go. Only ever a
        // top-level request on a peer link (never inside critical:, never to the handler).
        auto ids = proto::parse_critical_ack(request);
        if (!ids) {
            reply(std::string(proto::replies::bad_request));
            return;
        }
        std::size_t removed = ctx.critical.forget(*ids);
        if (ctx.count && removed > 0) {
            for (std::size_t i = 0; i < removed; ++i) {
                ctx.count("critical_acked");
            }
        }
        reply("ok");
        return;
    }
    if (!proto::is_critical(request)) {
        dispatch_plain(ctx, request, std::move(reply));
        return;
    }
    // One level only: durable requests do not nest (a nested one would cost a recursion
    // and a durable record per level), and an acknowledgement is no request to run.
    auto critical = proto::parse_critical(request);
    if (!critical || proto::is_critical(critical->request) ||
        proto::is_critical_ack(critical->request)) {
        reply(std::string(proto::replies::bad_request));
        return;
    }
    std::string inner(critical->request);
    ctx.critical.run_once(
        std::string(critical->id),
        [ctx, inner](CriticalLog::ReplyFn done) { dispatch_plain(ctx, inner, std::move(done)); },
        std::move(reply));
}

namespace {

void dispatch_plain(const CommandContext& ctx, std::string_view request, ReplyFn reply) {
    std::string_view command = proto::command_of(request);
    constexpr std::string_view builtins[] = {"ping", "pong", "echo", "time", "load", "version"};
    bool builtin = std::find(std::begin(builtins), std::end(builtins), command) != std::end(builtins);
    if (!builtin && !ctx.config.lond.handler) {
        // Nothing here could serve it, over any link: say so rather than blame the mode.
        reply(std::string(proto::replies::unknown_cmd));
        return;
    }
    if (ctx.mode == proto::Mode::insecure && !allowed_insecure(ctx.config, command)) {
        reply(std::string(proto::replies::requires_ssl));
        return;
    }
    if (command == "ping") {
        reply(ctx.config.host_id);
    } else if (command == "echo") {
        reply(std::string(proto::argument_of(request)));
    } else if (command == "time") {
        reply(std::to_string(static_cast<long long>(std::time(nullptr))));
    } else if (command == "load") {
        reply(load_percent(ctx.config.lond.load_limit));
    } else if (command == "version") {
        reply(fmt::format("lonlink={}&protocol={}", LONLINK_VERSION, proto::protocol_version));
    } else if (command == "pong") {
        pong(ctx, std::move(reply));
    } else if (ctx.config.lond.handler) {
        forward_to_handler(ctx, request, std::move(reply));
    } else {
        reply(std::string(proto::replies::unknown_cmd));
    }
}

} // namespace

} // namespace lon::lond
