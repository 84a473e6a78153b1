#include "reaper.hpp"

#include <cerrno>

#include <sys/wait.h>

namespace lon::link {

Reaper::Reaper(asio::io_context& io, Callback on_exit)
    : signals_(io, SIGCHLD), on_exit_(std::move(on_exit)) {
    arm();
}

void Reaper::arm() {
    signals_.async_wait([this](std::error_code ec, int) {
        if (ec) {
            return;
        }
        reap_now();
        arm();
    });
}

void Reaper::reap_now() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            if (pid < 0 && errno == EINTR) {
                continue;
            }
            return;
        }
        on_exit_(pid, status);
    }
}

} // namespace lon::link
