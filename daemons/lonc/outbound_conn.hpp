#pragma once

#include <chrono>
#include <ctime>
#include <string>
#include <string_view>

#include <asio.hpp>

#include "line_session.hpp"
#include "link_liveness.hpp"
#include "negotiation.hpp"
#include "pending_request.hpp"
#include "pool_policy.hpp"
#include "tag_table.hpp"
#include "transport.hpp"

namespace lon::lonc {

class PeerChild;

/// One TCP link from this host to the peer's lond: connect (from our own host address),
/// negotiate (TLS handshake as client after "ok:ssl", checking the server's certificate names
/// the peer), then carry tagged requests, many in flight at once.
class OutboundConn final : public link::LineSession<OutboundConn, link::Transport> {
public:
    using time_point = std::chrono::steady_clock::time_point;

    OutboundConn(PeerChild& owner, asio::io_context& io);

    /// Starts connecting from `local` to `remote` and sends `offer`; the whole negotiation
    /// must finish within `timeout`. Outcome: PeerChild::on_linked or on_conn_closed.
    void connect(const asio::ip::address& local, const asio::ip::tcp::endpoint& remote,
                 const proto::InitLine& offer, std::chrono::milliseconds timeout);

    [[nodiscard]] bool linked() const { return linked_; }
    [[nodiscard]] proto::Mode mode() const { return mode_; }
    /// Client requests sent on this link and not answered yet (our keepalive ping aside).
    [[nodiscard]] std::size_t in_flight() const { return in_flight_.size(); }
    /// The peer certificate's CN and expiry (ssl links only).
    [[nodiscard]] const std::string& peer_subject() const { return peer_subject_; }
    [[nodiscard]] std::time_t peer_not_after() const { return peer_not_after_; }
    /// The credentials generation this link was made with (see PeerChild).
    [[nodiscard]] std::uint64_t generation() const { return generation_; }
    void set_generation(std::uint64_t g) { generation_ = g; }
    /// A retired link takes no new requests and closes once its last reply is in.
    [[nodiscard]] bool retired() const { return retired_; }
    void retire() { retired_ = true; }
    /// An upgrade probe: an extra attempt to reach the peer over ssl while the link is
    /// plaintext. Its failure costs no retry; an insecure outcome is simply dropped.
    [[nodiscard]] bool upgrade_probe() const { return upgrade_probe_; }
    void set_upgrade_probe() { upgrade_probe_ = true; }

    /// Sends `request` under a fresh tag, written `now`; it is now delivered at most once.
    void send_request(const RequestPtr& request, time_point now);
    /// The scheduled liveness check of a linked connection (see proto/link_liveness.hpp):
    /// sends the keepalive ping when the link has been quiet for `keepalive`; returns
    /// close_* when the peer must be taken for gone. The owner closes the link then.
    proto::LinkLivenessAction check_liveness(time_point now, std::chrono::milliseconds keepalive);
    /// When this link next has something due if nothing arrives meanwhile: its liveness
    /// check (proto::next_liveness_check) or the deadline of a client request on it not yet
    /// answered, whichever is first.
    [[nodiscard]] time_point next_due(std::chrono::milliseconds keepalive) const;
    /// Marks the link as found dead (why, for the log) before the owner closes it.
    void set_dead(std::string why);
    [[nodiscard]] bool dead() const { return dead_; }

    void on_line(std::string_view line);
    void on_too_long();
    void on_closed(const std::error_code& ec);

    /// Why the link ended or failed, for the log.
    [[nodiscard]] const std::string& failure() const { return failure_; }

private:
    /// What check_link_liveness needs, without `now` and without finishing anything.
    [[nodiscard]] proto::LinkLivenessInput liveness_input(std::chrono::milliseconds keepalive) const;
    void fail(std::string why);
    void on_answer(std::string_view line);
    void on_handshake(const std::error_code& ec);
    void linked(proto::Mode mode);

    PeerChild& owner_;
    asio::steady_timer timer_;
    proto::InitLine offer_;
    std::string peer_label_;
    bool linked_ = false;
    proto::Mode mode_ = proto::Mode::insecure;
    std::uint64_t next_tag_ = 1;
    proto::TagTable<RequestPtr> in_flight_; ///< by tag, until answered or the link closes
    std::uint64_t ping_tag_ = 0;              ///< our keepalive ping in flight (0: none)
    time_point ping_deadline_{};
    bool dead_ = false;
    std::string failure_;
    std::string peer_subject_;
    std::time_t peer_not_after_ = 0;
    std::uint64_t generation_ = 0;
    bool retired_ = false;
    bool upgrade_probe_ = false;
};

/// What the pool policy (proto/pool_policy.hpp) needs to know about one link.
inline proto::PoolConn pool_conn(const OutboundConn& c) {
    return {c.linked(), c.retired(), c.closed(), c.in_flight(), c.mode()};
}

} // namespace lon::lonc
