// bindfloor: the floor bench/mesh judges a lonc parent's start-up against — a process that
// binds and listens N unix sockets in a folder (the work a lonc parent with an N-host table
// cannot avoid), then removes them and exits.
//
//   bindfloor --dir DIR [--count N]
//
// Prints the seconds spent binding (inside the process); bench/mesh times the whole run from
// exec to exit, as it times lonc from exec to ready. Bounded: N <= 100000; the sockets are
// closed and unlinked before it exits, also on failure.

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char** argv) {
    std::string dir;
    long count = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view a = argv[i];
        if (a == "--dir") {
            dir = argv[i + 1];
        } else if (a == "--count") {
            count = std::atol(argv[i + 1]);
        }
    }
    if (dir.empty() || count < 1 || count > 100'000) {
        std::fputs("usage: bindfloor --dir DIR [--count N (1..100000)]\n", stderr);
        return 2;
    }
    // As many descriptors as sockets, like a daemon that raises its own limit.
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < static_cast<rlim_t>(count) + 16) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, static_cast<rlim_t>(count) + 16);
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    auto start = std::chrono::steady_clock::now();
    std::vector<int> fds;
    std::vector<std::string> paths;
    int rc = 0;
    for (long i = 0; i < count; ++i) {
        std::string path = dir + "/s" + std::to_string(i);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (path.size() >= sizeof addr.sun_path) {
            std::fprintf(stderr, "bindfloor: path too long: %s\n", path.c_str());
            rc = 1;
            break;
        }
        std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            std::fprintf(stderr, "bindfloor: socket: %s\n", std::strerror(errno));
            rc = 1;
            break;
        }
        fds.push_back(fd);
        ::unlink(path.c_str());
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
            ::listen(fd, 128) < 0) {
            std::fprintf(stderr, "bindfloor: %s: %s\n", path.c_str(), std::strerror(errno));
            rc = 1;
            break;
        }
        paths.push_back(std::move(path));
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (int fd : fds) {
        ::close(fd);
    }
    for (const auto& p : paths) {
        ::unlink(p.c_str());
    }
    if (rc == 0) {
        std::printf("%.6f\n", secs);
    }
    return rc;
}
