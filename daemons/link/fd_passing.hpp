#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "unique_fd.hpp"

/// Handing an accepted connection from the lond parent to the lond child of that peer over a
/// SOCK_SEQPACKET unix socket: one packet = the bytes already read from the connection, with
/// the connection's fd attached (SCM_RIGHTS).
namespace lon::link {

/// Largest packet: the init line limit plus one read's worth of extra bytes.
inline constexpr std::size_t max_handoff_bytes = 8192;

/// Sends `fd` and `data` in one non-blocking packet. Returns an error (EAGAIN when the child
/// is not keeping up).
[[nodiscard]] std::error_code send_fd(int channel, int fd, std::string_view data);

struct Handoff {
    UniqueFd fd;
    std::string data;
};
/// Receives one packet; nullopt with ec = would_block when none is waiting, ec cleared and
/// nullopt on orderly EOF.
[[nodiscard]] std::optional<Handoff> receive_fd(int channel, std::error_code& ec);

} // namespace lon::link
