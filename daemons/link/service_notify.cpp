#include "service_notify.hpp"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace lon::link {

// The notification protocol of sd_notify(3), spoken directly: one datagram with the state
// lines, sent to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for an
// abstract one). systemd documents it as stable for reimplementation. libsystemd, which
// we used for this one call, brought six more libraries (libgcrypt, libgpg-error, liblzma,
// libzstd, liblz4, libcap) into every process: about 100 KiB of private memory in each of a
// host's up to 1,000 children (bench/README.md), and more work at every exec.
void notify_service(const char* state) noexcept {
    // unsetenv is not called: the parent notifies again on reload and stop. Its children are
    // exec'd with NOTIFY_SOCKET still set but never notify (NotifyAccess=main would ignore
    // them).
    const char* where = std::getenv("NOTIFY_SOCKET");
    if (where == nullptr || where[0] == '\0' || state == nullptr) {
        return;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::size_t len = std::strlen(where);
    if ((where[0] != '/' && where[0] != '@') || len > sizeof addr.sun_path) {
        return; // not an AF_UNIX address we know (e.g. systemd's vsock: form)
    }
    std::memcpy(addr.sun_path, where, len);
    socklen_t addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    if (where[0] == '@') {
        addr.sun_path[0] = '\0'; // abstract: the name is the bytes after it, no terminator
    } else if (len < sizeof addr.sun_path) {
        ++addr_len; // a path: with its terminating NUL, as sd_notify sends it
    }
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    (void)::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL,
                   reinterpret_cast<const sockaddr*>(&addr), addr_len);
    ::close(fd);
}

void notify_reloading() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                              static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
    std::string state;
    try {
        state = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
    } catch (...) {
        return; // out of memory: systemd merely misses a state change
    }
    notify_service(state.c_str());
}

} // namespace lon::link
