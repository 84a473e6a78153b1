#pragma once

#include <deque>
#include <optional>
#include <string>

#include <asio.hpp>

#include "line_session.hpp"

namespace lon::lonc {

class PeerChild;

/// One local client on the peer's unix socket. Reads request lines, hands them to the
/// PeerChild, and writes the replies back in the order the requests came, whatever order
/// the peer answers in.
class LocalSession final
    : public link::LineSession<LocalSession, asio::local::stream_protocol::socket> {
public:
    LocalSession(PeerChild& child, asio::local::stream_protocol::socket socket);
    void begin();

    void on_line(std::string line);
    void on_too_long();
    void on_closed(const std::error_code& ec);

private:
    /// Reserves the next reply slot; returns its sequence number.
    std::uint64_t reserve();
    void complete(std::uint64_t seq, std::string_view reply);

    PeerChild& child_;
    std::deque<std::optional<std::string>> replies_; ///< slot i has sequence first_seq_ + i
    std::uint64_t first_seq_ = 0;
};

} // namespace lon::lonc
