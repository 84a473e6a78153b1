// lonload: end-to-end load through a lonc socket, reported against a reference measured in
// the same run.
//
//   lonload --socket PATH [--connections C] [--requests N] [--payload BYTES] [--window W]
//           [--command CMD] [--serve-handler PATH]
//
// Sends N `echo:<payload>` requests over C local connections (each keeping W requests in
// flight), checks every reply (order and content), and prints requests/s and the 50th and
// 99th percentile of the time from a request's write to its reply. Before that it runs
// the identical load against a reference: a forked in-process echo server on a private unix
// socket that answers each line itself (no link, no peer). The ratio link/reference shows
// what the link costs on this machine today, whatever the machine.
// With --command CMD (a command the peer's lond.handler serves) it then runs the same load
// as `CMD:<payload>` and reports it against the built-in echo of the same run. With
// --serve-handler PATH lonload itself serves as that handler (forked, persistent, pipelined,
// answering `<peer>:CMD:<x>` with `<x>`), so the figures show what lond's handler path costs.
// Bounded: gives up after --max-seconds (default 120).

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

struct Options {
    std::string socket;
    int connections = 4;
    long requests = 20000;
    std::size_t payload = 64;
    int window = 32;
    int max_seconds = 120;
    std::string command = "echo";
    std::string serve_handler;
};

struct Result {
    double seconds = -1; ///< negative: the run failed
    double p50_ms = 0;
    double p99_ms = 0;
};

int connect_unix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        std::fprintf(stderr, "lonload: connect %s: %s\n", path.c_str(), std::strerror(errno));
        std::exit(1);
    }
    return fd;
}

std::string payload_for(long i, std::size_t size) {
    std::string s = std::to_string(i) + "x";
    s.resize(std::max(size, s.size()), 'a');
    return s;
}

struct Conn {
    int fd = -1;
    long next_send = 0;  // index within this connection's share
    long next_reply = 0;
    long share = 0;
    long base = 0;
    std::vector<std::chrono::steady_clock::time_point> sent_at;
    std::string in;
    std::string out;
};

/// Runs the load of `command` requests against `path`; seconds < 0 on a wrong reply.
Result run_load(const std::string& path, const Options& o, const std::string& command) {
    std::vector<Conn> conns(static_cast<std::size_t>(o.connections));
    long per = o.requests / o.connections;
    for (std::size_t i = 0; i < conns.size(); ++i) {
        conns[i].fd = connect_unix(path);
        conns[i].share = per;
        conns[i].base = static_cast<long>(i) * per;
        conns[i].sent_at.resize(static_cast<std::size_t>(per));
    }
    std::vector<double> latencies_ms;
    latencies_ms.reserve(static_cast<std::size_t>(per * o.connections));
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + std::chrono::seconds(o.max_seconds);
    long done = 0;
    long total = per * o.connections;
    std::vector<pollfd> pfds(conns.size());
    char buf[65536];
    while (done < total) {
        if (std::chrono::steady_clock::now() > deadline) {
            std::fprintf(stderr, "lonload: gave up after %d s (%ld of %ld replies)\n",
                         o.max_seconds, done, total);
            return {};
        }
        auto now = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < conns.size(); ++i) {
            Conn& c = conns[i];
            while (c.next_send < c.share && c.next_send - c.next_reply < o.window) {
                c.out += command + ":" + payload_for(c.base + c.next_send, o.payload) + "\n";
                c.sent_at[static_cast<std::size_t>(c.next_send)] = now;
                ++c.next_send;
            }
            pfds[i] = {c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0};
        }
        if (::poll(pfds.data(), pfds.size(), 1000) < 0 && errno != EINTR) {
            std::perror("poll");
            return {};
        }
        for (std::size_t i = 0; i < conns.size(); ++i) {
            Conn& c = conns[i];
            if ((pfds[i].revents & POLLOUT) != 0) {
                ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
                if (n > 0) {
                    c.out.erase(0, static_cast<std::size_t>(n));
                }
            }
            if ((pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
                if (n <= 0) {
                    std::fprintf(stderr, "lonload: connection closed early\n");
                    return {};
                }
                c.in.append(buf, static_cast<std::size_t>(n));
                std::size_t pos = 0;
                for (std::size_t nl; (nl = c.in.find('\n', pos)) != std::string::npos;
                     pos = nl + 1) {
                    std::string_view line(c.in.data() + pos, nl - pos);
                    if (line != payload_for(c.base + c.next_reply, o.payload)) {
                        std::fprintf(stderr, "lonload: wrong reply #%ld: %.*s\n",
                                     c.base + c.next_reply, static_cast<int>(line.size()),
                                     line.data());
                        return {};
                    }
                    latencies_ms.push_back(
                        std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() -
                            c.sent_at[static_cast<std::size_t>(c.next_reply)])
                            .count());
                    ++c.next_reply;
                    ++done;
                }
                c.in.erase(0, pos);
            }
        }
    }
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (auto& c : conns) {
        ::close(c.fd);
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto at = [&](double q) {
        return latencies_ms[std::min(latencies_ms.size() - 1,
                                     static_cast<std::size_t>(q * static_cast<double>(
                                                                      latencies_ms.size())))];
    };
    return {secs, at(0.50), at(0.99)};
}

/// The reference: answers `echo:<x>` with `<x>` on a unix socket, in a child process (also
/// `<peer>:<command>:<x>` with `<x>`, as a lond.handler: payloads hold no ':').
pid_t start_reference(const std::string& path) {
    ::unlink(path.c_str());
    int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(lfd, 64) < 0) {
        std::perror("reference bind");
        std::exit(1);
    }
    pid_t pid = ::fork();
    if (pid != 0) {
        ::close(lfd);
        return pid;
    }
    std::vector<pollfd> fds{{lfd, POLLIN, 0}};
    std::vector<std::string> ins(1);
    char buf[65536];
    for (;;) {
        ::poll(fds.data(), fds.size(), -1);
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if ((fds[i].revents & POLLIN) == 0 && (fds[i].revents & POLLHUP) == 0) {
                continue;
            }
            if (i == 0) {
                fds.push_back({::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC), POLLIN, 0});
                ins.emplace_back();
                continue;
            }
            ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
            if (n <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                continue;
            }
            ins[i].append(buf, static_cast<std::size_t>(n));
            std::string out;
            std::size_t pos = 0;
            for (std::size_t nl; (nl = ins[i].find('\n', pos)) != std::string::npos; pos = nl + 1) {
                std::string_view line(ins[i].data() + pos, nl - pos);
                auto colon = line.rfind(':');
                out.append(colon == std::string_view::npos ? line : line.substr(colon + 1));
                out.push_back('\n');
            }
            ins[i].erase(0, pos);
            for (std::size_t off = 0; off < out.size();) {
                ssize_t w = ::send(fds[i].fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
                if (w <= 0) {
                    break;
                }
                off += static_cast<std::size_t>(w);
            }
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view a = argv[i];
        const char* v = argv[i + 1];
        if (a == "--socket") {
            o.socket = v;
        } else if (a == "--connections") {
            o.connections = std::max(1, std::atoi(v));
        } else if (a == "--requests") {
            o.requests = std::max(1L, std::atol(v));
        } else if (a == "--payload") {
            o.payload = static_cast<std::size_t>(std::max(1, std::atoi(v)));
        } else if (a == "--window") {
            o.window = std::max(1, std::atoi(v));
        } else if (a == "--max-seconds") {
            o.max_seconds = std::max(1, std::atoi(v));
        } else if (a == "--command") {
            o.command = v;
        } else if (a == "--serve-handler") {
            o.serve_handler = v;
        } else {
            std::fprintf(stderr, "lonload: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (o.socket.empty()) {
        std::fputs("usage: lonload --socket PATH [--connections C] [--requests N] "
                   "[--payload BYTES] [--window W] [--max-seconds S] [--command CMD] "
                   "[--serve-handler PATH]\n",
                   stderr);
        return 2;
    }
    std::string ref_path = "/tmp/lonload-ref." + std::to_string(::getpid());
    pid_t ref = start_reference(ref_path);
    Result r = run_load(ref_path, o, "echo");
    ::kill(ref, SIGTERM);
    ::waitpid(ref, nullptr, 0);
    ::unlink(ref_path.c_str());
    pid_t handler = o.serve_handler.empty() ? 0 : start_reference(o.serve_handler);
    Result e = run_load(o.socket, o, "echo");
    Result h;
    if (o.command != "echo") {
        h = run_load(o.socket, o, o.command);
    }
    if (handler > 0) {
        ::kill(handler, SIGTERM);
        ::waitpid(handler, nullptr, 0);
        ::unlink(o.serve_handler.c_str());
    }
    if (r.seconds <= 0 || e.seconds <= 0 || (o.command != "echo" && h.seconds <= 0)) {
        return 1;
    }
    long total = (o.requests / o.connections) * o.connections;
    std::printf("requests=%ld connections=%d window=%d payload=%zu\n", total, o.connections,
                o.window, o.payload);
    std::printf("reference (local echo, no link): %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms\n",
                total / r.seconds, r.p50_ms, r.p99_ms);
    std::printf("through lonc+lond (echo):        %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms\n",
                total / e.seconds, e.p50_ms, e.p99_ms);
    std::printf("ratio link/reference:            %.3f\n", r.seconds / e.seconds);
    if (o.command != "echo") {
        std::printf("through lond.handler (%s):%*s%8.0f req/s  p50 %7.3f ms  p99 %7.3f ms\n",
                    o.command.c_str(), static_cast<int>(std::max<std::size_t>(1, 10 - std::min<std::size_t>(10, o.command.size()))), "",
                    total / h.seconds, h.p50_ms, h.p99_ms);
        std::printf("ratio handler/echo:              %.3f req/s, p99 x%.2f\n",
                    e.seconds / h.seconds, h.p99_ms / e.p99_ms);
    }
    return 0;
}
