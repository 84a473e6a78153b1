// link::notify_service speaks sd_notify's datagram protocol itself (no libsystemd): the
// state reaches a socket named by $NOTIFY_SOCKET, a path or an abstract "@name".

#include <cstddef>
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "service_notify.hpp"

namespace {

/// A datagram socket bound to `name` (a path, or abstract when it starts with '@').
struct Receiver {
    int fd = -1;
    explicit Receiver(const std::string& name) {
        fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        name.copy(addr.sun_path, name.size());
        socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        if (name[0] == '@') {
            addr.sun_path[0] = '\0';
        } else {
            ::unlink(name.c_str());
        }
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    }
    ~Receiver() { ::close(fd); }
    /// The next datagram, or "<none>" within 2 s.
    std::string next() const {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 2000) != 1) {
            return "<none>";
        }
        char buf[512];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        return n < 0 ? "<error>" : std::string(buf, static_cast<std::size_t>(n));
    }
};

struct NotifyEnv {
    explicit NotifyEnv(const std::string& v) { ::setenv("NOTIFY_SOCKET", v.c_str(), 1); }
    ~NotifyEnv() { ::unsetenv("NOTIFY_SOCKET"); }
};

} // namespace

TEST_CASE("notify_service: READY=1 reaches a path socket", "[service_notify]") {
    std::string path = "/tmp/lonlink-notify-test." + std::to_string(::getpid());
    Receiver r(path);
    NotifyEnv env(path);
    lon::link::notify_service("READY=1");
    CHECK(r.next() == "READY=1");
    lon::link::notify_reloading();
    std::string reloading = r.next();
    CHECK(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
    ::unlink(path.c_str());
}

TEST_CASE("notify_service: an abstract @ socket, and nothing without NOTIFY_SOCKET",
          "[service_notify]") {
    std::string name = "@lonlink-notify-test." + std::to_string(::getpid());
    Receiver r(name);
    {
        NotifyEnv env(name);
        lon::link::notify_service("STOPPING=1");
        CHECK(r.next() == "STOPPING=1");
    }
    lon::link::notify_service("READY=1"); // unset: a no-op, nothing arrives
    pollfd p{r.fd, POLLIN, 0};
    CHECK(::poll(&p, 1, 100) == 0);
}
