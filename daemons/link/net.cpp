#include "net.hpp"

#include "host_port.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>
#include <string_view>
#include <system_error>

#include <dirent.h>
#include <fcntl.h>
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

namespace {

/// The process umask for the scope of a batch of binds (restored on every exit path).
class UmaskScope {
public:
    explicit UmaskScope(mode_t mask) : old_(::umask(mask)) {}
    UmaskScope(const UmaskScope&) = delete;
    UmaskScope& operator=(const UmaskScope&) = delete;
    ~UmaskScope() { ::umask(old_); }

private:
    mode_t old_;
};

/// Above this many names, one read of the folder replaces an lstat per name.
constexpr std::size_t scan_folder_from = 8;

/// The names in `dir` that exist and are not sockets (entries whose type the file system
/// does not report are lstat'ed). A folder that cannot be read yields none: the binds below
/// then report what is wrong with it.
std::set<std::string> non_sockets_in(const std::filesystem::path& dir) {
    std::set<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        return out;
    }
    while (const dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name == "." || name == "..") {
            continue;
        }
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
            struct stat st {};
            if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                continue;
            }
            type = S_ISSOCK(st.st_mode) ? DT_SOCK : DT_REG;
        }
        if (type != DT_SOCK) {
            out.emplace(name);
        }
    }
    ::closedir(d);
    return out;
}

} // namespace

std::vector<UniqueFd> bind_unix_listeners(const std::filesystem::path& dir,
                                          const std::vector<std::string>& names,
                                          const std::optional<std::string>& group,
                                          std::vector<std::string>& warnings) {
    // Per name: socket, bind, listen, rename (and chown with a group). What a name does not
    // need is done once per batch: the umask, the pid in the temporary names, the group
    // lookup, the check for files that are not sockets (one folder read), and the mode check.
    // A lonc parent with a 1,000-host table spent 10 system calls per host here, bindfloor 4.
    const bool scan = names.size() > scan_folder_from;
    const std::set<std::string> others = scan ? non_sockets_in(dir) : std::set<std::string>{};
    const std::string suffix = "." + std::to_string(::getpid()) + ".tmp";
    std::optional<gid_t> gid;
    if (group && !group->empty()) {
        if (const ::group* gr = ::getgrnam(group->c_str()); gr != nullptr) {
            gid = gr->gr_gid;
        } else {
            warnings.push_back("socket_group " + *group + " does not exist; the sockets in " +
                               dir.string() + " keep this process's group");
        }
    }
    // Created 0660 from the start: no window in which others could connect.
    UmaskScope mask(0117);
    // Whether bind's mode needs correcting: a default ACL on the folder overrides the umask.
    // Checked on the first socket; the rest share folder and umask.
    std::optional<bool> needs_chmod;
    std::vector<UniqueFd> fds;
    fds.reserve(names.size());
    for (const std::string& name : names) {
        const std::string p = (dir / name).native();
        const std::string tmp = (dir / ("." + name + suffix)).native();
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (p.size() >= sizeof addr.sun_path || tmp.size() >= sizeof addr.sun_path) {
            errno = ENAMETOOLONG;
            throw_errno("socket path " + p);
        }
        std::memcpy(addr.sun_path, tmp.c_str(), tmp.size() + 1);
        bool not_socket = false;
        if (scan) {
            not_socket = others.count(name) > 0;
        } else {
            struct stat st {};
            not_socket = ::lstat(p.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode);
        }
        if (not_socket) {
            errno = EEXIST;
            throw_errno(p + " exists and is not a socket");
        }
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd) {
            throw_errno("socket");
        }
        // A stale socket at `p` from an earlier run is replaced by the rename below; the pid
        // file guards live ones. A leftover temporary name of ours is stale by construction
        // (removed only when it is in the way: the common case costs no unlink).
        int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        if (rc < 0 && errno == EADDRINUSE) {
            ::unlink(tmp.c_str());
            rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        }
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
        if (gid && ::chown(tmp.c_str(), static_cast<uid_t>(-1), *gid) < 0) {
            warnings.push_back("cannot give " + p + " to group " + *group + ": " +
                               std::strerror(errno));
        }
        if (!needs_chmod) {
            struct stat st {};
            needs_chmod = ::lstat(tmp.c_str(), &st) != 0 || (st.st_mode & 07777) != 0660;
        }
        if (*needs_chmod && ::chmod(tmp.c_str(), 0660) < 0) {
            fail("chmod " + tmp);
        }
        if (::rename(tmp.c_str(), p.c_str()) < 0) {
            fail("rename " + tmp + " to " + p);
        }
        fds.push_back(std::move(fd));
    }
    return fds;
}

UniqueFd bind_unix_listener(const std::filesystem::path& path,
                            const std::optional<std::string>& group, std::string& warning) {
    std::vector<std::string> warnings;
    auto fds = bind_unix_listeners(path.parent_path(), {path.filename().string()}, group, warnings);
    if (!warnings.empty()) {
        warning = warnings.front();
    }
    return std::move(fds.front());
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
