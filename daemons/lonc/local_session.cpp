#include "local_session.hpp"

#include <spdlog/spdlog.h>

#include "local_request.hpp"
#include "net.hpp"
#include "peer_child.hpp"
#include "replies.hpp"

namespace lon::lonc {

LocalSession::LocalSession(PeerChild& child, asio::local::stream_protocol::socket socket)
    : LineSession(std::move(socket), child.config().limits.max_message_bytes), child_(child) {
    set_eof_policy(EofPolicy::serve_with_tail);
}

void LocalSession::begin() {
    child_.on_local_opened(*this);
    start();
}

std::uint64_t LocalSession::reserve() {
    replies_.emplace_back();
    return first_seq_ + replies_.size() - 1;
}

void LocalSession::complete(std::uint64_t seq, std::string_view reply) {
    if (closed() || seq < first_seq_ || seq - first_seq_ >= replies_.size()) {
        return;
    }
    if (seq == first_seq_) {
        // The reply the client waits for next: straight to the output, one copy (a large
        // reply is not first parked in its slot), then the ones that were waiting behind it.
        send(reply);
        send("\n", 1);
        replies_.pop_front();
        ++first_seq_;
    } else {
        replies_[seq - first_seq_] = std::string(reply);
    }
    while (!replies_.empty() && replies_.front()) {
        send(std::move(*replies_.front()));
        send("\n", 1);
        replies_.pop_front();
        ++first_seq_;
    }
    if (input_ended() && replies_.empty()) {
        close_after_flush(); // a half-closed client has every reply it asked for
    }
}

void LocalSession::apply_bounds() {
    if (closed()) {
        return;
    }
    bool over_client = outstanding() >= child_.config().lonc.max_outstanding_per_client;
    bool over_queue = child_.queue_full();
    if (over_client || over_queue) {
        if (!held_) {
            held_ = true;
            pause_reading();
            child_.count(over_client ? "client_backpressure" : "queue_full");
        }
        if (over_queue) {
            child_.wait_for_queue(*this);
        }
        return;
    }
    if (held_ && !resume_posted_) {
        // Resume from a fresh handler: we may be inside a reply's completion, and reading
        // submits new requests.
        resume_posted_ = true;
        asio::post(socket().get_executor(), [self = shared_from_this()] {
            self->resume_posted_ = false;
            if (self->closed() || !self->held_) {
                return;
            }
            if (self->outstanding() >= self->child_.config().lonc.max_outstanding_per_client ||
                self->child_.queue_full()) {
                self->apply_bounds(); // held again meanwhile
                return;
            }
            self->held_ = false;
            self->resume_reading();
        });
    }
}

void LocalSession::on_line(std::string line) {
    std::uint64_t seq = reserve();
    std::weak_ptr<LocalSession> weak = weak_from_this();
    auto done = [weak, seq](std::string_view reply) {
        if (auto self = weak.lock()) {
            self->complete(seq, reply);
            self->apply_bounds();
        }
    };
    auto request = proto::classify_local(line, child_.config().limits.max_message_bytes);
    switch (request.kind) {
    case proto::LocalKind::too_long:
        child_.count("too_long");
        child_.warn_throttled("too_long", fmt::format("local request of {} bytes would be over "
                                                      "{} bytes on the wire: answered {}",
                                                      line.size(),
                                                      child_.config().limits.max_message_bytes,
                                                      proto::replies::too_long));
        complete(seq, proto::replies::too_long);
        break;
    case proto::LocalKind::bad_request:
        child_.count("critical_refused");
        child_.warn_throttled("critical_refused",
                              "refused a local critical: or critical_ack: line (only lonc sends those)");
        complete(seq, proto::replies::bad_request);
        break;
    case proto::LocalKind::lonc_command:
        complete(seq, child_.local_command(line));
        break;
    case proto::LocalKind::durable:
        child_.submit_critical(std::string(request.body), done);
        break;
    case proto::LocalKind::plain:
        child_.submit(std::move(line), done);
        break;
    }
    apply_bounds();
}

void LocalSession::on_too_long() {
    child_.count("too_long");
    child_.warn_throttled("too_long", fmt::format("local request over {} bytes: answered {}",
                                                  child_.config().limits.max_message_bytes,
                                                  proto::replies::too_long));
    complete(reserve(), proto::replies::too_long);
    apply_bounds();
}

void LocalSession::on_input_end() {
    if (replies_.empty()) {
        close_after_flush();
    }
}

void LocalSession::on_output_sent() {
    apply_bounds();
    if (outstanding() == 0 && !closed()) {
        child_.on_local_reusable(*this); // its client_idle_timeout runs from its last request
    }
}

void LocalSession::on_closed(const std::error_code& ec) {
    if (ec && ec != asio::error::eof && !link::is_shutdown(ec)) {
        spdlog::debug("local client gone: {}", ec.message());
    }
    child_.on_local_closed(*this);
}

} // namespace lon::lonc
