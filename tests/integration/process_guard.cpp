#include "process_guard.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"

namespace it {
namespace {

int signal_pipe[2] = {-1, -1};

std::mutex& dirs_mutex() {
    static std::mutex m;
    return m;
}
std::vector<std::filesystem::path>& temp_dirs() {
    static std::vector<std::filesystem::path> dirs;
    return dirs;
}

extern "C" void on_stop_signal(int sig) {
    // Only async-signal-safe work here: the cleanup thread does the rest.
    const auto byte = static_cast<unsigned char>(sig);
    int saved = errno;
    [[maybe_unused]] auto n = ::write(signal_pipe[1], &byte, 1);
    errno = saved;
    // Hold this thread (the test itself, usually) until the cleanup thread ends the process:
    // a test that went on would see its daemons die and could finish before the cleanup.
    for (;;) {
        ::pause();
    }
}

void kill_descendants() {
    for (int round = 0; round < 5; ++round) {
        auto kids = descendants_of(::getpid());
        if (kids.empty()) {
            break;
        }
        for (pid_t k : kids) {
            ::kill(k, SIGKILL);
        }
        ::usleep(100'000);
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {
        }
    }
}

[[noreturn]] void cleanup_thread() {
    unsigned char sig = 0;
    while (::read(signal_pipe[0], &sig, 1) != 1) {
    }
    kill_descendants();
    std::vector<std::filesystem::path> dirs;
    {
        std::lock_guard lock(dirs_mutex());
        dirs = temp_dirs();
    }
    for (const auto& d : dirs) {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
    }
    ::_exit(128 + sig);
}

} // namespace

void install_process_guard() {
    static std::once_flag once;
    std::call_once(once, [] {
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        if (::pipe2(signal_pipe, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe2 failed");
        }
        // The cleanup thread never takes the signals (the handler never returns).
        sigset_t stop_signals;
        sigset_t old;
        sigemptyset(&stop_signals);
        for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
            sigaddset(&stop_signals, sig);
        }
        ::pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
        std::thread(cleanup_thread).detach();
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
            ::sigaction(sig, &sa, nullptr);
        }
    });
}

void register_temp_dir(const std::filesystem::path& dir) {
    std::lock_guard lock(dirs_mutex());
    temp_dirs().push_back(dir);
}

void unregister_temp_dir(const std::filesystem::path& dir) {
    std::lock_guard lock(dirs_mutex());
    auto& dirs = temp_dirs();
    dirs.erase(std::remove(dirs.begin(), dirs.end(), dir), dirs.end());
}

int loopback_block() {
    static const int block = [] {
        // Start from our pid so concurrent runs usually try different blocks first; the lock
        // decides. The descriptor stays open (and locked) until the process ends.
        const int first = static_cast<int>(::getpid() % 100);
        for (int i = 0; i < 100; ++i) {
            int b = 100 + (first + i) % 100;
            std::string path = "/tmp/lonlink-it-net-" + std::to_string(b) + ".lock";
            int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
            if (fd < 0) {
                continue;
            }
            if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
                return b;
            }
            ::close(fd);
        }
        throw std::runtime_error("every loopback block 127.100-199.x.y is held by another run");
    }();
    return block;
}

} // namespace it
