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
        // The kernel notices a vanished peer too, even while we are still sending.
        if (auto kec = link::set_tcp_liveness(s.native_handle(), owner_.config().lonc.keepalive)) {
            spdlog::debug("TCP keepalive options on a link to {}: {}", peer_label_, kec.message());
        }
        if (auto nec = link::set_no_delay(s.native_handle())) {
            spdlog::debug("TCP_NODELAY on a link to {}: {}", peer_label_, nec.message());
        }
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

void OutboundConn::on_line(std::string_view line) {
    if (!linked_) {
        on_answer(line);
        return;
    }
    auto tagged = proto::parse_tagged(line);
    if (!tagged) {
        fail("malformed reply line from the peer");
        return;
    }
    if (ping_tag_ != 0 && tagged->tag == ping_tag_) {
        ping_tag_ = 0; // the peer is alive; the next ping after another quiet keepalive
        owner_.on_keepalive_answered(*this);
        return;
    }
    RequestPtr request = in_flight_.take(tagged->tag);
    if (!request) {
        fail("reply with unknown tag " + std::to_string(tagged->tag));
        return;
    }
    request->from_peer = !request->finished();
    request->finish(tagged->body);
    owner_.on_reply(*this);
}

void OutboundConn::on_answer(std::string_view line) {
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
    if (ec && link::peer_revoked(socket().ssl())) {
        owner_.set_peer_revoked();
        fail("revoked: its certificate is in loncapaCRL.pem; no insecure link either");
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

void OutboundConn::send_request(const RequestPtr& request, time_point now) {
    std::uint64_t tag = next_tag_++;
    request->link_deadline = now + owner_.config().lonc.request_timeout;
    in_flight_.add(tag, request);
    // Tag, text and '\n' queued apart, so a large request is not copied; sent at most once,
    // the text is not needed again.
    send(proto::format_tag(tag));
    send(std::move(request->line));
    send("\n");
    std::string().swap(request->line);
}

proto::LinkLivenessInput OutboundConn::liveness_input(std::chrono::milliseconds keepalive) const {
    proto::LinkLivenessInput in;
    in.last_received = last_input();
    in.keepalive = keepalive;
    if (ping_tag_ != 0) {
        in.ping_deadline = ping_deadline_;
    }
    in_flight_.for_each([&in](std::uint64_t, const RequestPtr& request) {
        if (!in.earliest_request_deadline ||
            request->link_deadline < *in.earliest_request_deadline) {
            in.earliest_request_deadline = request->link_deadline;
        }
    });
    return in;
}

proto::LinkLivenessAction OutboundConn::check_liveness(time_point now,
                                                       std::chrono::milliseconds keepalive) {
    in_flight_.for_each([now](std::uint64_t, const RequestPtr& request) {
        if (request->deadline <= now) {
            request->finish(proto::replies::con_lost); // the client hears on time; the tag
        }                                              // stays reserved until link_deadline
    });
    proto::LinkLivenessInput in = liveness_input(keepalive);
    in.now = now;
    auto action = proto::check_link_liveness(in);
    if (action == proto::LinkLivenessAction::send_ping) {
        ping_tag_ = next_tag_++;
        ping_deadline_ = now + keepalive;
        send(proto::format_tagged(ping_tag_, "ping"));
    }
    return action;
}

OutboundConn::time_point OutboundConn::next_due(std::chrono::milliseconds keepalive) const {
    time_point due = proto::next_liveness_check(liveness_input(keepalive));
    in_flight_.for_each([&due](std::uint64_t, const RequestPtr& request) {
        if (!request->finished() && request->deadline < due) {
            due = request->deadline;
        }
    });
    return due;
}

void OutboundConn::set_dead(std::string why) {
    dead_ = true;
    if (failure_.empty()) {
        failure_ = std::move(why);
    }
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
    in_flight_.drain([](std::uint64_t, RequestPtr request) {
        request->finish(proto::replies::con_lost);
    });
    owner_.on_conn_closed(*this);
}

} // namespace lon::lonc
