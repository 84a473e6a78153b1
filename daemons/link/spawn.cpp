#include "spawn.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <algorithm>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.hpp"

namespace lon::link {

pid_t spawn_self(const std::vector<std::string>& args,
                 const std::vector<std::pair<int, int>>& fds) {
    // Everything the child needs is prepared before fork: only async-signal-safe calls
    // happen between fork and exec.
    std::vector<std::string> argv_store;
    argv_store.reserve(args.size() + 1);
    argv_store.emplace_back("/proc/self/exe");
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(argv_store.size() + 1);
    for (auto& a : argv_store) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    // Resolve our own binary now: after exec of a replaced file /proc/self/exe still works,
    // and it is the same program image as ours.
    char exe[4096];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        return -1;
    }
    exe[n] = '\0';

    flush_logs();
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid != 0) {
        return pid; // parent (or -1)
    }
    // Child: restore default signal dispositions and an empty mask for the new program.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) {
        ::signal(sig, SIG_DFL);
    }
    int highest = 2;
    for (const auto& [from, to] : fds) {
        if (from == to) {
            int flags = ::fcntl(from, F_GETFD);
            ::fcntl(from, F_SETFD, flags & ~FD_CLOEXEC);
        } else if (::dup2(from, to) < 0) {
            ::_exit(127);
        }
        highest = std::max(highest, to);
    }
    // Nothing else crosses exec: not every descriptor (Asio's accepted sockets among them) is
    // close-on-exec, and a leaked copy of a peer's connection would keep it open after its
    // owner closed it.
    ::close_range(static_cast<unsigned>(highest) + 1, ~0U, 0);
    ::execv(exe, argv.data());
    ::_exit(127);
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) {
        return "exit " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        return "signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
    }
    return "status " + std::to_string(status);
}

} // namespace lon::link
