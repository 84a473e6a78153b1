#include "daemonize.hpp"

#include <cerrno>
#include <cstdio>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "log.hpp"

namespace lon::link {

Daemonizer Daemonizer::detach(const std::string& failure_hint) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) {
        throw std::system_error(errno, std::system_category(), "pipe");
    }
    UniqueFd rd(p[0]);
    UniqueFd wr(p[1]);
    flush_logs();
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        throw std::system_error(errno, std::system_category(), "fork");
    }
    if (pid > 0) {
        // The starter: wait for one byte (ready) or EOF (the daemon died during startup).
        wr.reset();
        char c = 0;
        ssize_t n;
        do {
            n = ::read(rd.get(), &c, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1) {
            ::_exit(0);
        }
        std::fprintf(stderr, "%s\n", failure_hint.c_str());
        ::_exit(3);
    }
    rd.reset();
    ::setsid();
    if (::chdir("/") != 0) {
        // Not fatal: every path we use is absolute.
    }
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
        if (devnull > 2) {
            ::close(devnull);
        }
    }
    return Daemonizer(std::move(wr));
}

void Daemonizer::ready() {
    if (notify_) {
        char c = 1;
        ssize_t n = ::write(notify_.get(), &c, 1);
        (void)n;
        notify_.reset();
    }
}

} // namespace lon::link
