#include "outbound_conn.hpp"

#include <spdlog/spdlog.h>

#include "message.hpp"
#include "net.hpp"
#include "peer_child.hpp"
#include "replies.hpp"
#include "tls_credentials.hpp"

namespace lon::lonc {

OutboundConn::OutboundConn(PeerChild& owner, asio::io_context& io)
    : LineSession(std::in_place, owner.config().limits.max_message_bytes, io),
      owner_(owner), timer_(io) {}

void OutboundConn::connect(const asio::ip::address& local, const asio::ip::tcp::endpoint& remote,
                           const proto::InitLine& offer, std::chrono::milliseconds timeout) {
    offer_ = offer;
    peer_label_ = remote.address().to_string();
    std::error_code ec;
    auto& s = socket().tcp();
    s.open(remote.protocol(), ec);
    if (!ec) {
        // Bind to our own host's address, so the peer's lond sees who we claim to be and a
        // whole cluster can share one machine on 127.0.0.x addresses.
        s.bind(asio::ip::tcp::endpoint(local, 0), ec);
    }
    if (ec) {
        fail("cannot bind to own address " + local.to_string() + ": " + ec.message());
        return;
    }
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](std::error_code tec) {
        if (!tec && !self->linked_) {
            self->fail("negotiation timed out");
        }
    });
    s.async_connect(remote, [self = shared_from_this()](std::error_code cec) {
        if (self->closed()) {
            return;
        }
        if (cec) {
            self->fail("connect: " + cec.message());
            return;
        }
        self->send(proto::format_init(self->offer_) + "\n");
        self->start();
    });
}

void OutboundConn::fail(std::string why) {
    if (failure_.empty()) {
        failure_ = std::move(why);
    }
    close();
}

void OutboundConn::on_line(std::string line) {
    last_traffic_ = std::chrono::steady_clock::now();
    if (!linked_) {
        on_answer(line);
        return;
    }
    auto tagged = proto::parse_tagged(line);
    if (!tagged) {
        fail("malformed reply line from the peer");
        return;
    }
    auto it = in_flight_.find(tagged->tag);
    if (it == in_flight_.end()) {
        fail("reply with unknown tag " + std::to_string(tagged->tag));
        return;
    }
    RequestPtr request = std::move(it->second);
    in_flight_.erase(it);
    request->from_peer = !request->finished();
    request->finish(tagged->body);
    owner_.on_reply(*this);
}

void OutboundConn::on_answer(const std::string& line) {
    auto answer = proto::parse_answer(line);
    if (!answer) {
        fail("malformed negotiation answer");
        return;
    }
    if (!answer->ok) {
        fail("refused:" + answer->reason);
        return;
    }
    proto::Policy policy = owner_.policy();
    if (!proto::client_accepts(offer_, *answer, policy)) {
        fail("peer chose " + std::string(proto::to_string(answer->mode)) + ", not acceptable");
        return;
    }
    if (answer->mode == proto::Mode::insecure) {
        linked(proto::Mode::insecure);
        return;
    }
    if (framer().buffered() > 0) {
        fail("plaintext bytes after ok:ssl (injection?)");
        return;
    }
    const link::TlsCredentials* tls = owner_.tls();
    if (tls == nullptr) {
        fail("peer chose ssl but our certificate is gone");
        return;
    }
    pause_reading();
    socket().begin_tls(tls->client);
    socket().async_handshake(asio::ssl::stream_base::client,
                             [self = shared_from_this()](std::error_code ec) {
                                 self->on_handshake(ec);
                             });
}

void OutboundConn::on_handshake(const std::error_code& ec) {
    if (closed()) {
        return;
    }
    if (ec) {
        fail("TLS handshake: " + link::describe_tls_failure(socket().ssl(), ec));
        return;
    }
    std::string problem = link::check_peer_identity(socket().ssl(), offer_.server_id,
                                                    &peer_subject_, &peer_not_after_);
    if (!problem.empty()) {
        fail("TLS: " + problem);
        return;
    }
    linked(proto::Mode::ssl);
    resume_reading();
}

void OutboundConn::linked(proto::Mode mode) {
    timer_.cancel();
    linked_ = true;
    mode_ = mode;
    owner_.on_linked(*this);
}

void OutboundConn::send_request(const RequestPtr& request) {
    std::uint64_t tag = next_tag_++;
    in_flight_.emplace(tag, request);
    send(proto::format_tagged(tag, request->line));
}

bool OutboundConn::expire(time_point now) {
    bool keepalive_lost = false;
    for (auto& [tag, request] : in_flight_) {
        if (!request->finished() && request->deadline <= now) {
            keepalive_lost = keepalive_lost || request->internal;
            request->finish(proto::replies::con_lost);
        }
    }
    return keepalive_lost;
}

void OutboundConn::on_too_long() {
    fail("reply line over max_message_bytes");
}

void OutboundConn::on_closed(const std::error_code& ec) {
    std::error_code ignored;
    timer_.cancel();
    if (failure_.empty()) {
        failure_ = ec ? ec.message() : std::string("closed");
        if (link::is_end_of_stream(ec)) {
            failure_ = "closed by the peer";
        }
    }
    // Sent requests are never re-sent (at most once): they end here.
    auto lost = std::move(in_flight_);
    in_flight_.clear();
    for (auto& [tag, request] : lost) {
        request->finish(proto::replies::con_lost);
    }
    owner_.on_conn_closed(*this);
}

} // namespace lon::lonc
