// lonecho: the minimal line echo server that bench/compare measures against (the "floor") and
// puts behind stunnel and behind lond.handler.
//
//   lonecho --unix PATH [--max-connections N] [--max-line BYTES]
//
// For every line it receives it writes back the text after the line's last ':' (the whole
// line when it has none), so one server answers all the benchmark's paths alike:
//   `echo:<p>` from the load tool directly or through stunnel   -> `<p>`
//   `<peer-id>:becho:<p>` from lond.handler                      -> `<p>`
// Many lines per connection (pipelined or not) and many connections at once; one thread, one
// epoll loop, non-blocking sockets, so it costs as little as a line server can. Bounded: at most
// --max-connections (default 4096) connections, beyond which new ones are closed at once, and a
// line of at most --max-line bytes (default 17 MiB), beyond which the connection is closed;
// both are counted and printed on stderr when it stops (TERM/INT), with the lines answered,
// the connections accepted and the most lines answered from one read (> 1: pipelined).

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

volatile std::sig_atomic_t stopping = 0;

void on_stop(int) {
    stopping = 1;
}

struct Conn {
    std::string in;
    std::size_t scanned = 0; // bytes of `in` known to hold no '\n'
    std::string out;
    std::size_t out_off = 0;
    bool want_out = false;
};

struct Stats {
    unsigned long long lines = 0;
    unsigned long long connections = 0;   // accepted
    unsigned long long max_batch = 0;     // most lines answered from one read

    unsigned long long refused_connections = 0;
    unsigned long long too_long = 0;
};

/// Appends the reply to `line` (the text after its last ':') and a newline to `out`.
void answer(std::string_view line, std::string& out) {
    const void* colon = ::memrchr(line.data(), ':', line.size());
    if (colon != nullptr) {
        line.remove_prefix(static_cast<std::size_t>(static_cast<const char*>(colon) - line.data()) +
                           1);
    }
    out.append(line);
    out.push_back('\n');
}

/// Writes what is pending; false when the connection failed.
bool flush(int fd, Conn& c) {
    while (c.out_off < c.out.size()) {
        ssize_t w = ::send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        c.out_off += static_cast<std::size_t>(w);
    }
    c.out.clear();
    c.out_off = 0;
    return true;
}

} // namespace

int main(int argc, char** argv) {
    std::string path;
    std::size_t max_connections = 4096;
    std::size_t max_line = 17ULL * 1024 * 1024;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            std::puts("usage: lonecho --unix PATH [--max-connections N] [--max-line BYTES]");
            return 0;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "lonecho: %s needs a value\n", argv[i]);
            return 2;
        }
        const char* v = argv[++i];
        if (a == "--unix") {
            path = v;
        } else if (a == "--max-connections") {
            max_connections = std::max(1UL, std::strtoul(v, nullptr, 10));
        } else if (a == "--max-line") {
            max_line = std::max(1UL, std::strtoul(v, nullptr, 10));
        } else {
            std::fprintf(stderr, "lonecho: unknown option %s\n", argv[i - 1]);
            return 2;
        }
    }
    if (path.empty()) {
        std::fputs("usage: lonecho --unix PATH [--max-connections N] [--max-line BYTES]\n",
                   stderr);
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);

    ::unlink(path.c_str());
    int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        std::fprintf(stderr, "lonecho: path too long: %s\n", path.c_str());
        return 1;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
        ::listen(lfd, 1024) < 0) {
        std::fprintf(stderr, "lonecho: listen on %s: %s\n", path.c_str(), std::strerror(errno));
        return 1;
    }
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event lev{};
    lev.events = EPOLLIN;
    lev.data.fd = lfd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);

    std::unordered_map<int, Conn> conns;
    Stats stats;
    epoll_event events[256];
    static char buf[256 * 1024];
    auto drop = [&](int fd) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        conns.erase(fd);
    };
    while (stopping == 0) {
        int n = ::epoll_wait(ep, events, 256, 500);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            std::perror("lonecho: epoll_wait");
            return 1;
        }
        for (int k = 0; k < n; ++k) {
            int fd = events[k].data.fd;
            if (fd == lfd) {
                for (;;) {
                    int cfd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                    if (cfd < 0) {
                        break; // EAGAIN, or EMFILE: the backlog keeps it for the next round
                    }
                    if (conns.size() >= max_connections) {
                        ++stats.refused_connections;
                        ::close(cfd);
                        continue;
                    }
                    epoll_event ev{};
                    ev.events = EPOLLIN | EPOLLRDHUP;
                    ev.data.fd = cfd;
                    ::epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                    conns.emplace(cfd, Conn{});
                    ++stats.connections;
                }
                continue;
            }
            auto it = conns.find(fd);
            if (it == conns.end()) {
                continue;
            }
            Conn& c = it->second;
            bool closed = false;
            bool eof = false; // the client is done sending: answer what came, then close
            if ((events[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
                for (;;) {
                    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
                    if (r < 0 && errno == EINTR) {
                        continue;
                    }
                    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        break;
                    }
                    if (r == 0) {
                        eof = true;
                        break;
                    }
                    if (r < 0) {
                        closed = true;
                        break;
                    }
                    c.in.append(buf, static_cast<std::size_t>(r));
                    std::size_t pos = 0;
                    unsigned long long batch = 0;
                    for (;;) {
                        const void* nl = std::memchr(c.in.data() + std::max(pos, c.scanned), '\n',
                                                     c.in.size() - std::max(pos, c.scanned));
                        if (nl == nullptr) {
                            break;
                        }
                        auto end = static_cast<std::size_t>(static_cast<const char*>(nl) -
                                                            c.in.data());
                        answer(std::string_view(c.in.data() + pos, end - pos), c.out);
                        ++stats.lines;
                        ++batch;
                        pos = end + 1;
                    }
                    stats.max_batch = std::max(stats.max_batch, batch);
                    c.in.erase(0, pos);
                    c.scanned = c.in.size();
                    if (c.in.size() > max_line) {
                        ++stats.too_long;
                        closed = true;
                        break;
                    }
                }
            }
            if (!closed && !flush(fd, c)) {
                closed = true;
            }
            if (closed || eof) {
                drop(fd);
                continue;
            }
            bool want_out = !c.out.empty();
            if (want_out != c.want_out) {
                epoll_event ev{};
                ev.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0U);
                ev.data.fd = fd;
                ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
                c.want_out = want_out;
            }
        }
    }
    ::unlink(path.c_str());
    std::fprintf(stderr,
                 "lonecho: %llu lines, %llu connections, max %llu lines per read, %llu "
                 "connections refused, %llu lines too long\n",
                 stats.lines, stats.connections, stats.max_batch, stats.refused_connections,
                 stats.too_long);
    return 0;
}
