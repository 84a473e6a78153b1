// lonload: end-to-end load through a lonc socket, reported against a reference measured in
// the same run.
//
//   lonload --socket PATH [--connections C] [--requests N] [--payload BYTES] [--window W]
//
// Sends N `echo:<payload>` requests over C local connections (each keeping W requests in
// flight), checks every reply (order and content), and prints requests/s. Before that it runs
// the identical load against a reference: a forked in-process echo server on a private unix
// socket that answers each line itself (no link, no peer). The ratio link/reference shows
// what the link costs on this machine today, whatever the machine.
// Bounded: gives up after --max-seconds (default 120).

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
    std::string in;
    std::string out;
};

/// Runs the load against `path`; returns seconds, or a negative value on a wrong reply.
double run_load(const std::string& path, const Options& o) {
    std::vector<Conn> conns(static_cast<std::size_t>(o.connections));
    long per = o.requests / o.connections;
    for (std::size_t i = 0; i < conns.size(); ++i) {
        conns[i].fd = connect_unix(path);
        conns[i].share = per;
        conns[i].base = static_cast<long>(i) * per;
    }
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
            return -1;
        }
        for (std::size_t i = 0; i < conns.size(); ++i) {
            Conn& c = conns[i];
            while (c.next_send < c.share && c.next_send - c.next_reply < o.window) {
                c.out += "echo:" + payload_for(c.base + c.next_send, o.payload) + "\n";
                ++c.next_send;
            }
            pfds[i] = {c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0};
        }
        if (::poll(pfds.data(), pfds.size(), 1000) < 0 && errno != EINTR) {
            std::perror("poll");
            return -1;
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
                    return -1;
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
                        return -1;
                    }
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
    return secs;
}

/// The reference: answers `echo:<x>` with `<x>` on a unix socket, in a child process.
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
                auto colon = line.find(':');
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
        } else {
            std::fprintf(stderr, "lonload: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (o.socket.empty()) {
        std::fputs("usage: lonload --socket PATH [--connections C] [--requests N] "
                   "[--payload BYTES] [--window W] [--max-seconds S]\n",
                   stderr);
        return 2;
    }
    std::string ref_path = "/tmp/lonload-ref." + std::to_string(::getpid());
    pid_t ref = start_reference(ref_path);
    double ref_s = run_load(ref_path, o);
    ::kill(ref, SIGTERM);
    ::waitpid(ref, nullptr, 0);
    ::unlink(ref_path.c_str());
    double link_s = run_load(o.socket, o);
    if (ref_s <= 0 || link_s <= 0) {
        return 1;
    }
    long total = (o.requests / o.connections) * o.connections;
    std::printf("requests=%ld connections=%d window=%d payload=%zu\n", total, o.connections,
                o.window, o.payload);
    std::printf("reference (local echo, no link): %.0f req/s\n", total / ref_s);
    std::printf("through lonc+lond:               %.0f req/s\n", total / link_s);
    std::printf("ratio link/reference:            %.3f\n", ref_s / link_s);
    return 0;
}
