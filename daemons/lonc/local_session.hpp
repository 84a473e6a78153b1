#pragma once

#include <chrono>
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
///
/// End of input is a half-close: every request read (an unterminated last line included)
/// is still answered, in order, then the connection is closed. Only an error or a write to
/// a fully closed client drops the replies due.
///
/// Bounds: a request is outstanding from the moment it is read until its reply has been
/// handed to the kernel. While `lonc.max_outstanding_per_client` are outstanding, or the
/// child's queue holds `lonc.max_queued`, the connection is not read (backpressure).
class LocalSession final
    : public link::LineSession<LocalSession, asio::local::stream_protocol::socket> {
public:
    LocalSession(PeerChild& child, asio::local::stream_protocol::socket socket);
    void begin();

    /// Requests read whose reply has not been handed to the kernel yet.
    [[nodiscard]] std::size_t outstanding() const { return replies_.size() + unsent_messages(); }
    /// Nothing outstanding and nothing more to read: may be closed without losing a reply.
    [[nodiscard]] bool reusable() const { return !closed() && !input_ended() && outstanding() == 0; }
    /// Reads again if no bound holds it back any more (from a fresh handler).
    void apply_bounds();

    void on_line(std::string line);
    void on_too_long();
    void on_closed(const std::error_code& ec);
    void on_input_end();
    void on_output_sent();

private:
    /// Reserves the next reply slot; returns its sequence number.
    std::uint64_t reserve();
    void complete(std::uint64_t seq, std::string_view reply);

    PeerChild& child_;
    std::deque<std::optional<std::string>> replies_; ///< slot i has sequence first_seq_ + i
    std::uint64_t first_seq_ = 0;
    bool held_ = false;        ///< reading paused by a bound
    bool resume_posted_ = false;
};

} // namespace lon::lonc
