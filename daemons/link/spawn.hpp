#pragma once

#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace lon::link {

/// Opens this program's own executable (/proc/self/exe) once, close-on-exec, and keeps the
/// descriptor for spawn_self. Call it first thing in main: after a binary upgrade (the file
/// replaced by rename, as dpkg does) /proc/self/exe names a deleted file and cannot be
/// exec'd by path, but the descriptor still can, so a running daemon keeps starting children
/// of its own version until it is restarted. Returns false (errno set) if it cannot.
bool open_own_executable();

/// Starts a child role of this same program: a new process sharing our memory until it
/// execs (clone with CLONE_VM | CLONE_VFORK, as posix_spawn: no page tables copied, no
/// copy-on-write faults in the parent afterwards; we wait the moment until it has exec'd),
/// which execs our own executable (the descriptor from open_own_executable, else
/// /proc/self/exe) with `args` (argv[1..]).
/// Each {from, to} in `fds` is dup2'ed to `to` in the child and left open across exec (in
/// any arrangement: a `from` may be another pair's `to`);
/// every other descriptor is closed. Logs are flushed first so buffered lines are not
/// written twice. Signals are blocked across the clone; the child resets every disposition,
/// asks for SIGTERM when its parent dies (PR_SET_PDEATHSIG, and exits at once if the parent
/// died before that), then unblocks signals and execs. Returns the child pid, or -1
/// (errno set). Exec (rather than a bare fork) gives every child a clean Asio, OpenSSL and
/// spdlog.
[[nodiscard]] pid_t spawn_self(const std::vector<std::string>& args,
                               const std::vector<std::pair<int, int>>& fds);

/// Human-readable exit status ("exit 3", "signal 9 (Killed)").
[[nodiscard]] std::string describe_wait_status(int status);

} // namespace lon::link
