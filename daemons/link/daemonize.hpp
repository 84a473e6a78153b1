#pragma once

#include <string>

#include "unique_fd.hpp"

namespace lon::link {

/// Detaches the daemon from the terminal while letting its starter know when it is ready:
/// the starting process blocks until the daemon calls ready() (then exits 0) or dies first
/// (then prints `failure_hint` to stderr and exits 3). So `lond --config F` returns only
/// once lond is listening, which makes init scripts race-free.
class Daemonizer final {
public:
    /// Forks; returns only in the daemon (new session, stdio on /dev/null, cwd "/").
    /// Throws std::system_error on failure.
    static Daemonizer detach(const std::string& failure_hint);
    /// Tells the starter that startup succeeded. Idempotent.
    void ready();

private:
    explicit Daemonizer(UniqueFd fd) : notify_(std::move(fd)) {}
    UniqueFd notify_;
};

} // namespace lon::link
