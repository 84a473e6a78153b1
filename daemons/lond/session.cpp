#include "session.hpp"

#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "message.hpp"
#include "net.hpp"
#include "peer_server.hpp"

namespace lon::lond {

Session::Session(PeerServer& server, asio::ip::tcp::socket socket, std::string ip)
    : LineSession(std::move(socket), server.config().limits.max_message_bytes), server_(server),
      ip_(std::move(ip)) {}

void Session::begin(const std::string& initial_bytes) {
    feed(initial_bytes);
    start();
}

void Session::on_line(std::string line) {
    if (negotiated_) {
        serve(line);
    } else {
        negotiate(line);
    }
}

void Session::negotiate(const std::string& line) {
    auto init = proto::parse_init(line);
    if (!init || init->client_id != server_.peer()) {
        spdlog::warn("refused {}: bad init line in child", ip_);
        send(proto::format_answer(proto::refuse(proto::Refusal::bad_init)) + "\n");
        close_after_flush();
        return;
    }
    proto::Policy policy;
    policy.have_cert = false; // TLS arrives with the certificate work (issue 3)
    policy.allow_insecure = server_.config().lond.allow_insecure;
    policy.peer_pinned = server_.pinned();
    proto::Answer answer = proto::server_decide(*init, policy);
    // Requests the client pipelined behind its init line stay in the framer and are served
    // next: harmless in plaintext. (Before TLS they must be refused as injection.)
    send(proto::format_answer(answer) + "\n");
    if (!answer.ok) {
        spdlog::warn("refused {} ({}): {}", server_.peer(), ip_, answer.reason);
        close_after_flush();
        return;
    }
    negotiated_ = true;
    mode_ = answer.mode;
    spdlog::info("link from {} ({}) up, {}", server_.peer(), ip_, proto::to_string(mode_));
    server_.on_session_linked(*this);
}

void Session::serve(const std::string& line) {
    auto tagged = proto::parse_tagged(line);
    if (!tagged) {
        spdlog::warn("closing link from {} ({}): malformed request line", server_.peer(), ip_);
        close();
        return;
    }
    std::uint64_t tag = tagged->tag;
    CommandContext ctx{server_.io(), server_.config(), server_.peer(), mode_};
    dispatch(ctx, tagged->body, [self = shared_from_this(), tag](std::string reply) {
        self->send(proto::format_tagged(tag, reply));
    });
}

void Session::on_too_long() {
    spdlog::warn("closing link from {} ({}): line over {} bytes", server_.peer(), ip_,
                 server_.config().limits.max_message_bytes);
    close();
}

void Session::on_closed(const std::error_code& ec) {
    if (ec && !link::is_shutdown(ec) && ec != asio::error::eof) {
        spdlog::info("link from {} ({}) lost: {}", server_.peer(), ip_, ec.message());
    } else {
        spdlog::debug("link from {} ({}) closed", server_.peer(), ip_);
    }
    server_.on_session_closed(*this);
}

} // namespace lon::lond
