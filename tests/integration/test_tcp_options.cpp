// The options on the daemons' TCP links, read from the running processes themselves: the
// test duplicates each TCP socket of a lonc child and of a lond child (pidfd_getfd, Linux
// 5.6+, needs ptrace rights over the daemon: root or the same user) and asks the kernel.

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

struct TcpSocketOptions {
    int nodelay = -1;
    int keepalive = -1;
};

/// The options of every TCP socket that `pid` holds (listening ones included).
std::vector<TcpSocketOptions> tcp_sockets_of(pid_t pid) {
    std::vector<TcpSocketOptions> out;
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        FAIL("pidfd_open(" << pid << "): " << std::strerror(errno));
    }
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code lec;
        auto target = std::filesystem::read_symlink(e.path(), lec).string();
        if (lec || target.rfind("socket:", 0) != 0) {
            continue;
        }
        int target_fd = std::stoi(e.path().filename().string());
        int fd = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, target_fd, 0));
        if (fd < 0) {
            ::close(pidfd);
            FAIL("pidfd_getfd(" << pid << ", " << target_fd << "): " << std::strerror(errno));
        }
        int domain = 0;
        int type = 0;
        socklen_t len = sizeof domain;
        ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
        len = sizeof type;
        ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
        if ((domain == AF_INET || domain == AF_INET6) && type == SOCK_STREAM) {
            int accepting = 0;
            len = sizeof accepting;
            ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len);
            if (accepting == 0) {
                TcpSocketOptions o;
                len = sizeof o.nodelay;
                ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &o.nodelay, &len);
                len = sizeof o.keepalive;
                ::getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o.keepalive, &len);
                out.push_back(o);
            }
        }
        ::close(fd);
    }
    ::close(pidfd);
    return out;
}

} // namespace

TEST_CASE("every TCP link of both daemons has TCP_NODELAY (no Nagle stalls on pipelined "
          "replies) and TCP keepalive",
          "[integration][tcp_options]") {
    Cluster c(hosts(2));
    c.start_all();
    UnixClient u(c.socket(0, 1));
    REQUIRE(u.connected());
    REQUIRE(u.request("ping") == c.id(1));

    pid_t lonc_child = c.lonc_child(0, 1);
    pid_t lond_child = c.lond_child(1, 0);
    REQUIRE(lonc_child > 0);
    REQUIRE(lond_child > 0);
    for (pid_t pid : {lonc_child, lond_child}) {
        INFO("pid " << pid);
        auto sockets = tcp_sockets_of(pid);
        REQUIRE_FALSE(sockets.empty());
        for (const auto& s : sockets) {
            CHECK(s.nodelay == 1);
            CHECK(s.keepalive == 1);
        }
    }
}
