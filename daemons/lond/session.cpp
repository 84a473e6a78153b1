#include "session.hpp"

#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "message.hpp"
#include "net.hpp"
#include "peer_server.hpp"
#include "replies.hpp"
#include "pin_store.hpp"
#include "tls_credentials.hpp"

namespace lon::lond {

Session::Session(PeerServer& server, asio::ip::tcp::socket socket, std::string ip)
    : LineSession(std::in_place, server.config().limits.max_message_bytes, std::move(socket)),
      server_(server), ip_(std::move(ip)), timer_(server.io()) {
    // Lines on the wire end in '\n': an unterminated tail at end of input is not a request.
    set_eof_policy(EofPolicy::serve);
}

void Session::begin(const std::string& initial_bytes) {
    // The whole negotiation, TLS handshake included, must finish within handshake_timeout.
    timer_.expires_after(server_.config().limits.handshake_timeout);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        if (!ec && !self->negotiated_ && !self->closed()) {
            spdlog::warn("closing connection from {} ({}): negotiation timed out",
                         self->server_.peer(), self->ip_);
            self->close(asio::error::timed_out);
        }
    });
    feed(initial_bytes);
    start();
}

void Session::on_line(std::string_view line) {
    if (negotiated_) {
        serve(line);
    } else {
        negotiate(line);
    }
}

void Session::negotiate(std::string_view line) {
    auto init = proto::parse_init(line);
    if (!init || init->client_id != server_.peer()) {
        spdlog::warn("refused {}: bad init line in child", ip_);
        send(proto::format_answer(proto::refuse(proto::Refusal::bad_init)) + "\n");
        close_after_flush();
        return;
    }
    // The context is taken now, with the decision: a HUP or the certificate's expiry may drop
    // the server's credentials before the handshake starts.
    const link::TlsCredentials* creds = server_.tls();
    std::shared_ptr<asio::ssl::context> context = creds ? creds->server : nullptr;
    proto::Policy policy;
    policy.have_cert = context != nullptr;
    policy.allow_insecure = server_.config().lond.allow_insecure;
    policy.peer_pinned = link::is_pinned(server_.config().paths.state_dir, server_.peer());
    policy.peer_on_roster = server_.peer_on_roster();
    proto::Answer answer = proto::server_decide(*init, policy);
    if (answer.ok && answer.mode == proto::Mode::insecure && server_.peer_revoked()) {
        // Its certificate was found in our CRL: plaintext would undo the revocation.
        answer = proto::refuse(proto::Refusal::revoked);
    }
    if (answer.ok && answer.mode == proto::Mode::ssl && framer().buffered() > 0) {
        // Plaintext sent after the init line would be taken as coming from inside TLS by a
        // careless implementation (CVE-2011-0411): refuse the connection instead.
        answer = proto::refuse(proto::Refusal::extra_data);
    }
    send(proto::format_answer(answer) + "\n");
    if (!answer.ok) {
        spdlog::warn("refused {} ({}): {}", server_.peer(), ip_, answer.reason);
        server_.note_error("refused: " + std::string(answer.reason));
        close_after_flush();
        return;
    }
    if (answer.mode == proto::Mode::ssl) {
        pause_reading();
        after_flush([self = shared_from_this(), context = std::move(context)]() mutable {
            self->start_tls(std::move(context));
        });
        return;
    }
    linked(proto::Mode::insecure);
}

void Session::start_tls(std::shared_ptr<asio::ssl::context> context) {
    socket().begin_tls(std::move(context));
    socket().async_handshake(asio::ssl::stream_base::server,
                             [self = shared_from_this()](std::error_code ec) {
                                 self->on_handshake(ec);
                             });
}

void Session::on_handshake(const std::error_code& ec) {
    if (closed()) {
        return;
    }
    if (ec && link::peer_revoked(socket().ssl())) {
        spdlog::warn("refused {} ({}): revoked (its certificate is in loncapaCRL.pem); no "
                     "insecure link either",
                     server_.peer(), ip_);
        server_.set_peer_revoked();
        server_.note_error("refused: revoked (its certificate is in loncapaCRL.pem)");
        close(ec);
        return;
    }
    if (ec) {
        std::string why = link::describe_tls_failure(socket().ssl(), ec);
        spdlog::warn("TLS handshake with {} ({}) failed: {}", server_.peer(), ip_, why);
        server_.note_error("TLS handshake failed: " + why);
        close(ec);
        return;
    }
    std::string subject;
    std::time_t not_after = 0;
    std::string problem =
        link::check_peer_identity(socket().ssl(), server_.peer(), &subject, &not_after);
    if (!problem.empty()) {
        spdlog::warn("refused {} ({}) after TLS handshake: {}", server_.peer(), ip_, problem);
        server_.note_error("refused after TLS handshake: " + problem);
        close();
        return;
    }
    if (!link::pin(server_.config().paths.state_dir, server_.peer(), subject)) {
        spdlog::error("cannot record the ssl pin for {} under {}", server_.peer(),
                      server_.config().paths.state_dir.string());
    }
    server_.note_peer_not_after(not_after);
    linked(proto::Mode::ssl);
    resume_reading();
}

void Session::linked(proto::Mode mode) {
    timer_.cancel();
    negotiated_ = true;
    mode_ = mode;
    spdlog::info("link from {} ({}) up, {}", server_.peer(), ip_, proto::to_string(mode_));
    server_.on_session_linked(*this);
}

void Session::serve(std::string_view line) {
    auto tagged = proto::parse_tagged(line);
    if (!tagged) {
        spdlog::warn("closing link from {} ({}): malformed request line", server_.peer(), ip_);
        close();
        return;
    }
    // Lines read together (a pipelined burst) are handed to the handler pool under one hold:
    // they reach the handler in one write on one connection instead of one write each. The
    // hold ends with the last complete line of the read, or when the session closes.
    const bool more = framer().has_line();
    if (more && !holding_pool_) {
        server_.handler_pool().hold();
        holding_pool_ = true;
    }
    std::uint64_t tag = tagged->tag;
    PeerServer* server = &server_;
    CommandContext ctx{server_.io(),       server_.config(),       server_.peer(), mode_,
                       server_.critical(), &server_.handlers(), &server_.handler_pool(),
                       [server](std::string_view what) { server->count(what); }};
    ++outstanding_;
    bool ping = tagged->body == "ping"; // most likely a keepalive
    dispatch(ctx, tagged->body, [self = shared_from_this(), tag, ping](std::string reply) {
        --self->outstanding_;
        self->server_.count_request(ping);
        std::string prefix = proto::format_tag(tag);
        // Never send a line the peer's lonc would refuse (and drop the link for); the limit
        // does not count the '\n'.
        if (prefix.size() + reply.size() > self->server_.config().limits.max_message_bytes) {
            self->server_.count("too_long");
            reply = proto::replies::too_long;
        }
        // Tag, body and '\n' queued apart: a large reply is not copied (line_session.hpp).
        self->send(prefix);
        self->send(std::move(reply));
        self->send("\n");
        if (self->input_ended() && self->outstanding_ == 0) {
            self->close_after_flush();
        }
    });
    if (!more || closed() || reading_paused()) {
        // The last line of the read, or no more lines will be served from it now (closing,
        // or closing once the replies are written): never leave the pool held.
        release_pool();
    }
}

void Session::release_pool() {
    if (holding_pool_) {
        holding_pool_ = false;
        server_.handler_pool().release();
    }
}

void Session::on_input_end() {
    if (outstanding_ == 0) {
        close_after_flush();
    }
}

void Session::on_too_long() {
    spdlog::warn("closing link from {} ({}): line over {} bytes", server_.peer(), ip_,
                 server_.config().limits.max_message_bytes);
    close();
}

void Session::on_closed(const std::error_code& ec) {
    timer_.cancel();
    release_pool();
    if (ec && !link::is_shutdown(ec) && !link::is_end_of_stream(ec)) {
        spdlog::info("link from {} ({}) lost: {}", server_.peer(), ip_, ec.message());
        server_.note_error("link lost: " + ec.message());
    } else {
        spdlog::debug("link from {} ({}) closed", server_.peer(), ip_);
    }
    server_.on_session_closed(*this);
}

} // namespace lon::lond
