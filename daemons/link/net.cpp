#include "net.hpp"

#include "host_port.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <system_error>

#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace lon::link {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::system_category(), what);
}

} // namespace

UniqueFd bind_unix_listener(const std::filesystem::path& path,
                            const std::optional<std::string>& group, std::string& warning) {
    const std::string& p = path.native();
    // Bound, listening, with its mode and group, under a temporary name in the same folder,
    // then renamed into place: a client that connects as soon as the path appears never
    // gets ECONNREFUSED (nor EACCES for want of the group).
    const std::string tmp =
        (path.parent_path() / ("." + path.filename().string() + "." + std::to_string(::getpid()) +
                               ".tmp"))
            .native();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (p.size() >= sizeof addr.sun_path || tmp.size() >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        throw_errno("socket path " + p);
    }
    std::memcpy(addr.sun_path, tmp.c_str(), tmp.size() + 1);
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
        errno = EEXIST;
        throw_errno(p + " exists and is not a socket");
    }
    // A stale socket at `p` from an earlier run is replaced by the rename below; the pid file
    // guards live ones. A leftover temporary name of ours is stale by construction.
    ::unlink(tmp.c_str());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        throw_errno("socket");
    }
    // Create it 0660 from the start: no window in which others could connect.
    mode_t old = ::umask(0117);
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (rc < 0) {
        throw_errno("bind " + tmp);
    }
    auto fail = [&](const std::string& what) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        throw_errno(what);
    };
    if (::listen(fd.get(), SOMAXCONN) < 0) {
        fail("listen " + tmp);
    }
    if (group && !group->empty()) {
        if (const ::group* gr = ::getgrnam(group->c_str()); gr != nullptr) {
            if (::chown(tmp.c_str(), static_cast<uid_t>(-1), gr->gr_gid) < 0) {
                warning = "cannot give " + p + " to group " + *group + ": " + std::strerror(errno);
            }
        } else {
            warning = "socket_group " + *group + " does not exist; " + p +
                      " keeps this process's group";
        }
    }
    if (::chmod(tmp.c_str(), 0660) < 0) {
        fail("chmod " + tmp);
    }
    if (::rename(tmp.c_str(), p.c_str()) < 0) {
        fail("rename " + tmp + " to " + p);
    }
    return fd;
}

UniqueFd bind_tcp_listener(const std::string& address, unsigned short port) {
    std::error_code ec;
    auto ip = asio::ip::make_address(address, ec);
    if (ec) {
        throw std::system_error(ec, "listen address " + address);
    }
    asio::ip::tcp::endpoint ep(ip, port);
    UniqueFd fd(::socket(ip.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        throw_errno("socket");
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), ep.data(), static_cast<socklen_t>(ep.size())) < 0) {
        throw_errno("bind " + host_port(address, port));
    }
    if (::listen(fd.get(), SOMAXCONN) < 0) {
        throw_errno("listen " + host_port(address, port));
    }
    return fd;
}

std::string remote_ip(const asio::ip::tcp::socket& socket) {
    std::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec) {
        return {};
    }
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
    }
    return a.to_string();
}

std::error_code set_tcp_liveness(int fd, std::chrono::milliseconds keepalive) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(keepalive).count();
    int idle = static_cast<int>(std::clamp<long long>(secs, 1, 32767)); // kernel maximum
    int interval = std::max(1, idle / 3);
    int count = 3;
    int one = 1;
    auto user_ms = std::clamp<long long>(3 * keepalive.count(), 1000, 0x7fffffff);
    unsigned int user_timeout = static_cast<unsigned int>(user_ms);
    struct Option {
        int level, name;
        const void* value;
        socklen_t size;
    };
    const Option options[] = {
        {SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one},
        {IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle},
        {IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval},
        {IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count},
        {IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout},
    };
    std::error_code first;
    for (const auto& o : options) {
        if (::setsockopt(fd, o.level, o.name, o.value, o.size) < 0 && !first) {
            first.assign(errno, std::system_category());
        }
    }
    return first;
}

std::error_code set_no_delay(int fd) {
    int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
        return {errno, std::system_category()};
    }
    return {};
}

void ignore_sigpipe() {
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &sa, nullptr);
}

} // namespace lon::link
