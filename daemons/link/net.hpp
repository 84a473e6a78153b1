#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "unique_fd.hpp"

namespace lon::link {

/// Puts an Asio socket in non-blocking mode once (Asio remembers it, so the call is a flag
/// test after the first time); false with `ec`. For writes that try the kernel first.
template <typename AsioSocket>
bool ensure_non_blocking(AsioSocket& s, std::error_code& ec) {
    ec.clear();
    if (!s.non_blocking()) {
        s.non_blocking(true, ec);
    }
    return !ec;
}

/// Binds and listens on a unix stream socket at `path` (a stale socket file is replaced; any
/// other file there is an error), mode 0660, group `group` when given and known. A missing
/// group is not fatal: `warning` says so. The path appears only once the socket listens with
/// its mode and group (made under a temporary name, then renamed), so a client connecting as
/// soon as it sees the path gets in. Throws std::system_error (startup and reload only).
[[nodiscard]] UniqueFd bind_unix_listener(const std::filesystem::path& path,
                                          const std::optional<std::string>& group,
                                          std::string& warning);

/// bind_unix_listener for every name in `names`, all in folder `dir`, in order (one fd per
/// name), with what does not depend on the name done once: a lonc parent binds one socket
/// per host of its table at start. Warnings (group missing, chown refused) are appended to
/// `warnings`. Throws std::system_error on the first failure (startup and reload only).
[[nodiscard]] std::vector<UniqueFd> bind_unix_listeners(const std::filesystem::path& dir,
                                                        const std::vector<std::string>& names,
                                                        const std::optional<std::string>& group,
                                                        std::vector<std::string>& warnings);

/// Binds and listens on address:port (SO_REUSEADDR). Throws std::system_error.
[[nodiscard]] UniqueFd bind_tcp_listener(const std::string& address, unsigned short port);

/// The numeric remote address of a connected socket ("" if unknown); IPv4-mapped IPv6
/// addresses are shown as IPv4.
[[nodiscard]] std::string remote_ip(const asio::ip::tcp::socket& socket);

/// The kernel's part in noticing a dead peer, derived from `keepalive` (lonc.keepalive): TCP
/// keepalive probes after `keepalive` of silence, every keepalive/3 (at least 1 s), three of
/// them; and TCP_USER_TIMEOUT of 3 x keepalive, so data that stays unacknowledged that long
/// (a peer that lost power) aborts the connection even while we are sending. Best effort:
/// returns the first error, the socket stays usable either way.
std::error_code set_tcp_liveness(int fd, std::chrono::milliseconds keepalive);

/// TCP_NODELAY: a reply goes out when it is written, not when the peer's delayed ACK for the
/// previous one arrives (Nagle's algorithm meeting delayed ACKs stalled pipelined replies by
/// 40 ms). Batching stays ours: LineSession writes everything queued during a wakeup in one
/// write. Best effort, like set_tcp_liveness.
std::error_code set_no_delay(int fd);

/// Ignores SIGPIPE: a closed peer surfaces as an error_code (EPIPE) instead.
void ignore_sigpipe();

/// Whether an error just means "we are shutting this down" (never logged as a fault).
[[nodiscard]] inline bool is_shutdown(const std::error_code& ec) {
    return ec == asio::error::operation_aborted;
}

} // namespace lon::link
