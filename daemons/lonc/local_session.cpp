#include "local_session.hpp"

#include <spdlog/spdlog.h>

#include "net.hpp"
#include "peer_child.hpp"
#include "replies.hpp"

namespace lon::lonc {

LocalSession::LocalSession(PeerChild& child, asio::local::stream_protocol::socket socket)
    : LineSession(std::move(socket), child.config().limits.max_message_bytes), child_(child) {}

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
    replies_[seq - first_seq_] = std::string(reply);
    std::string out;
    while (!replies_.empty() && replies_.front()) {
        out += *replies_.front();
        out += '\n';
        replies_.pop_front();
        ++first_seq_;
    }
    if (!out.empty()) {
        send(out);
    }
}

void LocalSession::on_line(std::string line) {
    std::uint64_t seq = reserve();
    std::weak_ptr<LocalSession> weak = weak_from_this();
    auto done = [weak, seq](std::string_view reply) {
        if (auto self = weak.lock()) {
            self->complete(seq, reply);
        }
    };
    constexpr std::string_view critical = "lonc:critical:";
    if (line.rfind(critical, 0) == 0) {
        child_.submit_critical(line.substr(critical.size()), done);
        return;
    }
    if (line.rfind("lonc:", 0) == 0) {
        complete(seq, child_.local_command(line));
        return;
    }
    child_.submit(std::move(line), done);
}

void LocalSession::on_too_long() {
    spdlog::warn("local request over {} bytes: answered {}",
                 child_.config().limits.max_message_bytes, proto::replies::too_long);
    complete(reserve(), proto::replies::too_long);
}

void LocalSession::on_closed(const std::error_code& ec) {
    if (ec && ec != asio::error::eof && !link::is_shutdown(ec)) {
        spdlog::debug("local client gone: {}", ec.message());
    }
    child_.on_local_closed(*this);
}

} // namespace lon::lonc
