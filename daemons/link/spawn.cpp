#include "spawn.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <memory>

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.hpp"

extern char** environ;

namespace lon::link {
namespace {

/// Our own executable, opened at start (-1: not opened, exec /proc/self/exe by path).
int own_exe_fd = -1;

/// Enough for the calls child_main makes before exec (fexecve, sigaction: no deep frames).
constexpr std::size_t child_stack_bytes = 64 * 1024;

/// What the child of spawn_self needs, all prepared before the clone: between clone and
/// exec only async-signal-safe calls happen, and nothing is allocated.
struct ChildSetup {
    int exe_fd = -1;
    const char* exe = nullptr; ///< used when exe_fd < 0
    char** argv = nullptr;
    pid_t parent = -1;
    const std::vector<std::pair<int, int>>* fds = nullptr;
    int* moved = nullptr; ///< one slot per fds entry
};

/// The child between clone and exec; never returns (exec or _exit). Not instrumented by
/// AddressSanitizer (the sanitizer build): it runs on a stack the sanitizer does not know,
/// in memory it shares with the parent, and would leave its frames' shadow behind.
__attribute__((no_sanitize_address)) int child_main(void* arg) {
    const ChildSetup& c = *static_cast<const ChildSetup*>(arg);
    // Default dispositions (an ignored SIGPIPE would survive exec; the signal handler table
    // is the child's own: no CLONE_SIGHAND), SIGTERM when the parent dies, then an empty
    // mask for the new program.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            ::sigaction(sig, &dfl, nullptr); // EINVAL for the libc-reserved ones: fine
        }
    }
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
        ::_exit(127);
    }
    if (::getppid() != c.parent) {
        ::_exit(0); // the parent died before PR_SET_PDEATHSIG took effect
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const auto& fds = *c.fds;
    int highest = 2;
    for (const auto& [from, to] : fds) {
        highest = std::max(highest, to);
    }
    int exe_fd = c.exe_fd;
    if (exe_fd >= 0 && exe_fd <= highest) {
        // Move our executable's descriptor above the ones the child gets before dup2 could
        // replace it (it is often 3: opened first thing in main).
        exe_fd = ::fcntl(exe_fd, F_DUPFD_CLOEXEC, highest + 1);
        if (exe_fd < 0) {
            ::_exit(127);
        }
    }
    // First every source above the targets, then each to its target: a source may sit on
    // another one's target (the parent's descriptors are numbered as they came). The child
    // has its own descriptor table (no CLONE_FILES).
    for (std::size_t i = 0; i < fds.size(); ++i) {
        c.moved[i] = ::fcntl(fds[i].first, F_DUPFD_CLOEXEC, highest + 1);
        if (c.moved[i] < 0) {
            ::_exit(127);
        }
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (::dup2(c.moved[i], fds[i].second) < 0) { // the copy at the target is not close-on-exec
            ::_exit(127);
        }
    }
    // Nothing else crosses exec: not every descriptor (Asio's accepted sockets among them) is
    // close-on-exec, and a leaked copy of a peer's connection would keep it open after its
    // owner closed it. The pid file's lock stays with the parent alone.
    if (exe_fd >= 0) {
        if (exe_fd > highest + 1) {
            ::close_range(static_cast<unsigned>(highest) + 1, static_cast<unsigned>(exe_fd) - 1,
                          0);
        }
        ::close_range(static_cast<unsigned>(exe_fd) + 1, ~0U, 0);
        ::fexecve(exe_fd, c.argv, environ); // execveat(fd, "", AT_EMPTY_PATH)
    } else {
        ::close_range(static_cast<unsigned>(highest) + 1, ~0U, 0);
        ::execv(c.exe, c.argv);
    }
    ::_exit(127);
}

} // namespace

bool open_own_executable() {
    if (own_exe_fd >= 0) {
        return true;
    }
    int fd = ::open("/proc/self/exe", O_PATH | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    own_exe_fd = fd;
    return true;
}

pid_t spawn_self(const std::vector<std::string>& args,
                 const std::vector<std::pair<int, int>>& fds) {
    // Everything the child needs is prepared before the clone: only async-signal-safe calls
    // happen between clone and exec (child_main).
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
    // Without the descriptor, resolve our own binary by path now (works until the file is
    // replaced).
    char exe[4096] = {};
    if (own_exe_fd < 0) {
        ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            return -1;
        }
        exe[n] = '\0';
    }
    ChildSetup setup;
    setup.exe_fd = own_exe_fd;
    setup.exe = exe;
    setup.argv = argv.data();
    setup.parent = ::getpid();
    setup.fds = &fds;
    std::vector<int> moved(fds.size(), -1); // allocated now: the child only writes to it
    setup.moved = moved.data();
    // The child's stack until it execs. Our own (not the parent's, which the child would
    // share under CLONE_VM): the parent is suspended meanwhile, so it stays valid. Not
    // zeroed: only the pages the child touches (the top one or two) cost the parent memory
    // (a zero-filled vector left 60 KiB more private memory in each parent).
    auto stack = std::make_unique_for_overwrite<char[]>(child_stack_bytes);

    flush_logs();
    std::fflush(nullptr);
    // No handler of ours may run in the child before exec: block every signal across the
    // clone; the child resets dispositions before unblocking.
    sigset_t all;
    sigset_t saved;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, &saved);
    // CLONE_VM | CLONE_VFORK (what posix_spawn does): the child runs in our memory until it
    // execs, and we wait until it has. A fork copied this process's page tables and made
    // every page copy-on-write for a child that execs at once: about 36 page faults in the
    // parent per child afterwards (bench/README.md, "bench/mesh start-up"), on a machine
    // where each costs a hypercall. The child writes only `moved` and its own stack.
#if defined(__SANITIZE_ADDRESS__)
    // The sanitizer build forks: AddressSanitizer intercepts some of the calls child_main
    // makes (sigaction, sigprocmask, prctl) and keeps per-thread state that a CLONE_VM child
    // would write in our memory; it knows fork and vfork, not a raw clone.
    (void)stack;
    pid_t pid = ::fork();
    if (pid == 0) {
        child_main(&setup);
    }
#else
    pid_t pid = ::clone(child_main, stack.get() + child_stack_bytes,
                        CLONE_VM | CLONE_VFORK | SIGCHLD, &setup);
#endif
    int saved_errno = errno;
    ::sigprocmask(SIG_SETMASK, &saved, nullptr);
    errno = saved_errno;
    return pid; // the child has exec'd (or exited) by now; -1 if it could not be made
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
