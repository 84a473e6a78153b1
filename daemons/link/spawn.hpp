#pragma once

#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace lon::link {

/// Starts a child role of this same program: fork, then exec /proc/self/exe with `args`
/// (argv[1..]). Each {from, to} in `fds` is dup2'ed to `to` in the child and left open
/// across exec; every other descriptor we opened is close-on-exec. Logs are flushed first
/// so buffered lines are not written twice. Returns the child pid, or -1 (errno set).
/// Exec (rather than a bare fork) gives every child a clean Asio, OpenSSL and spdlog.
[[nodiscard]] pid_t spawn_self(const std::vector<std::string>& args,
                               const std::vector<std::pair<int, int>>& fds);

/// Human-readable exit status ("exit 3", "signal 9 (Killed)").
[[nodiscard]] std::string describe_wait_status(int status);

} // namespace lon::link
