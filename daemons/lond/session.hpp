#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <asio.hpp>

#include "line_session.hpp"
#include "negotiation.hpp"
#include "transport.hpp"

namespace lon::lond {

class PeerServer;

/// One connection from the peer, inside the lond child: finishes the negotiation the parent
/// began (answers the init line, runs the TLS handshake as server after "ok:ssl" and checks
/// the client's certificate names the peer), then serves tagged requests. Replies may go
/// out of order. A peer that shuts its sending half down (half-close) still gets the reply to
/// every complete request line it sent; then the connection is closed.
class Session final : public link::LineSession<Session, link::Transport> {
public:
    Session(PeerServer& server, asio::ip::tcp::socket socket, std::string ip);

    /// Starts with the bytes the parent already read (init line first).
    void begin(const std::string& initial_bytes);
    [[nodiscard]] proto::Mode mode() const { return mode_; }
    [[nodiscard]] bool negotiated() const { return negotiated_; }

    void on_line(std::string_view line);
    void on_too_long();
    void on_closed(const std::error_code& ec);
    void on_input_end();

private:
    void negotiate(std::string_view line);
    /// Runs the server handshake with `context`, the one the `ok:ssl` decision was made with.
    void start_tls(std::shared_ptr<asio::ssl::context> context);
    void on_handshake(const std::error_code& ec);
    void linked(proto::Mode mode);
    void serve(std::string_view line);
    /// Ends this session's hold on the handler pool (the burst is written).
    void release_pool();

    PeerServer& server_;
    std::string ip_;
    asio::steady_timer timer_;
    std::size_t outstanding_ = 0; ///< requests dispatched, not answered yet
    bool negotiated_ = false;
    /// Holding the handler pool while the lines of one read are served (see serve()).
    bool holding_pool_ = false;
    proto::Mode mode_ = proto::Mode::insecure;
};

} // namespace lon::lond
