#pragma once

#include <functional>

#include <asio.hpp>
#include <sys/types.h>

namespace lon::link {

/// Reaps every exited child (waitpid(-1, WNOHANG) loop on SIGCHLD) and reports each one.
class Reaper final {
public:
    using Callback = std::function<void(pid_t pid, int wait_status)>;
    Reaper(asio::io_context& io, Callback on_exit);
    /// Reaps whatever has exited already (also called on every SIGCHLD).
    void reap_now();

private:
    void arm();
    asio::signal_set signals_;
    Callback on_exit_;
};

} // namespace lon::link
