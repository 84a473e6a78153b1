// PeerChild: durable requests (lonc:critical:): spooled first, sent once a link is up,
// removed when the peer's reply is final, then acknowledged so the peer drops its record.

#include "peer_child.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "critical.hpp"
#include "outbound_conn.hpp"
#include "replies.hpp"

namespace lon::lonc {

void PeerChild::submit_critical(std::string request, PendingRequest::Done done) {
    last_activity_ = clock::now();
    std::string copy = request;
    spool_.add(std::move(request), [this, copy = std::move(copy),
                                    done = std::move(done)](Spool::Added result,
                                                            const std::string& id) {
        if (result == Spool::Added::full) {
            count("spool_full");
            warn_throttled("spool_full",
                           fmt::format("spool for {} holds lonc.max_spooled ({}) requests: "
                                       "answered {}",
                                       peer_, config_.lonc.max_spooled, proto::replies::con_failed));
            done(proto::replies::con_failed);
            return;
        }
        if (result == Spool::Added::failed) {
            warn_throttled("spool_failed", fmt::format("cannot spool a durable request in {}",
                                                       spool_.dir().string()));
            done(proto::replies::con_failed);
            return;
        }
        count("critical_spooled");
        if (stopping_ || health_.state() == proto::PeerHealth::State::dead) {
            done(proto::replies::con_delayed);
            demand_probe();
            return;
        }
        // Linked or about to be: queue it like any request. If the link fails first, the
        // client hears con_delayed (it stays spooled) and the spool is flushed once a link is
        // up.
        send_critical(id, copy, done);
    });
}

void PeerChild::send_critical(const std::string& id, const std::string& request,
                              PendingRequest::Done client_done) {
    critical_in_flight_.insert(id);
    auto req = std::make_shared<PendingRequest>(proto::format_critical(id, request),
                                                clock::now() + config_.lonc.request_timeout,
                                                nullptr);
    std::weak_ptr<PendingRequest> weak = req;
    req->done = [this, id, weak, client_done](std::string_view reply) {
        auto self = weak.lock();
        bool delivered = self && self->from_peer && reply != proto::not_recorded;
        if (!delivered) {
            critical_in_flight_.erase(id);
            if (client_done) {
                client_done(proto::replies::con_delayed); // still spooled: delivered later
            }
            return;
        }
        if (client_done) {
            client_done(reply);
        }
        critical_done(id, reply);
    };
    enqueue(std::move(req));
    pump();
}

void PeerChild::critical_done(const std::string& id, std::string_view reply) {
    count("critical_delivered");
    if (reply == proto::indeterminate) {
        // Final too: the peer started it once and lost the outcome; it is never run again.
        count("critical_indeterminate");
        spdlog::warn("durable request {} to {}: the peer lost its outcome ({}); removed from "
                     "the spool",
                     id, peer_, proto::indeterminate);
    }
    spool_.remove(id, [this, id](bool ok) {
        critical_in_flight_.erase(id);
        if (!ok) {
            warn_throttled("spool_remove", fmt::format("cannot remove {} from {}; the peer "
                                                       "answers a resend from its record",
                                                       id, spool_.dir().string()));
            return;
        }
        // Removed for good: now the peer may forget it.
        if (acks_.size() >= config_.lonc.max_spooled) {
            acks_.pop_front();
            count("acks_dropped");
        }
        acks_.push_back(id);
        send_acks();
        flush_spool(); // the next ones in line, without waiting for the timer
    });
}

bool PeerChild::linked_now() const {
    return std::any_of(conns_.begin(), conns_.end(),
                       [](const auto& c) { return c->linked() && !c->retired(); });
}

void PeerChild::send_acks() {
    if (ack_in_flight_ || acks_.empty() || stopping_ || !linked_now()) {
        return;
    }
    std::vector<std::string> ids;
    while (!acks_.empty() && ids.size() < proto::max_ack_ids) {
        ids.push_back(std::move(acks_.front()));
        acks_.pop_front();
    }
    ack_in_flight_ = true;
    auto req = std::make_shared<PendingRequest>(proto::format_critical_ack(ids),
                                                clock::now() + config_.lonc.request_timeout,
                                                nullptr);
    std::weak_ptr<PendingRequest> weak = req;
    req->done = [this, weak, ids](std::string_view reply) mutable {
        ack_in_flight_ = false;
        auto self = weak.lock();
        if (!(self && self->from_peer)) {
            // Not delivered: try again on the next link (oldest first).
            for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
                if (acks_.size() < config_.lonc.max_spooled) {
                    acks_.push_front(std::move(*it));
                }
            }
            return;
        }
        if (reply != "ok") {
            warn_throttled("ack_refused", fmt::format("{} answered a critical_ack with {}; its "
                                                      "records go after lond.critical_retention",
                                                      peer_, reply));
        }
        asio::post(io_, [this] { send_acks(); });
    };
    enqueue(std::move(req));
    pump();
}

void PeerChild::flush_spool() {
    send_acks();
    if (spool_.empty() || !linked_now()) {
        return;
    }
    // At most 64 durable requests in flight at once: the rest wait their turn, oldest first.
    constexpr std::size_t window = 64;
    if (critical_in_flight_.size() >= window) {
        return;
    }
    auto ids = spool_.oldest(window - critical_in_flight_.size(), [this](const std::string& id) {
        return critical_in_flight_.count(id) > 0;
    });
    for (const auto& id : ids) {
        auto request = spool_.read(id);
        if (!request) {
            continue;
        }
        send_critical(id, *request, nullptr);
    }
}

} // namespace lon::lonc
