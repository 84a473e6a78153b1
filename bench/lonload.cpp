// lonload: an independent load generator for line sockets (a lonc peer socket, a stunnel
// front, or the echo server itself), with latency percentiles.
//
//   lonload --socket PATH [--connections C] [--pipeline N] [--connect-per-request]
//           [--payload BYTES] [--command PREFIX] (--requests N | --duration SECONDS)
//           [--threads T] [--json] [--reference] [--max-seconds S]
//
// Each of C connections sends `<PREFIX><payload>` lines (PREFIX default `echo:`), keeps N of
// them in flight (default 1) and checks every reply against the payload it sent, in order.
// With --connect-per-request every request opens its own connection, sends one line, reads the
// reply and closes (LON-CAPA style); C such clients run at once. The C connections are spread
// over T threads (default: min(C, number of cores)), each a poll loop, so the generator is not
// the bottleneck of the server under test more than it must be.
// Latency is measured per request from the moment its line is queued for sending (or, per
// request connections, from the connect) to the moment its reply is complete, in a
// microsecond histogram (1 us steps to 10 ms, 10 us to 100 ms, 1 ms beyond), so its memory is
// bounded whatever the rate; max is exact.
// --duration runs for a time window (what bench/compare uses); --requests sends a fixed number.
// --reference first runs the same load against an in-process echo server on a private unix
// socket and prints the ratio (the old bench/run-e2e.sh report).
// Output: one human line, or with --json one JSON object: requests, errors, seconds, rps,
// p50_us, p90_us, p99_us, max_us, and the options. A wrong reply, a connection closed early or
// a failed connect counts as an error (the first few are printed on stderr); the run goes on.
// Bounded: gives up after --max-seconds (default 120) and exits 1 when nothing was answered.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string socket;
    int connections = 4;
    int pipeline = 1;
    bool connect_per_request = false;
    long requests = 0;     // 0: run for `duration`
    double duration = 0.0; // seconds
    std::size_t payload = 64;
    std::string command = "echo:";
    int threads = 0;
    bool json = false;
    bool reference = false;
    int max_seconds = 120;
};

/// Latency histogram in microseconds with bounded memory (see the file comment).
class Histogram {
  public:
    Histogram() : counts_(bucket_count, 0) {}
    void add(std::uint64_t us) {
        ++counts_[bucket(us)];
        max_ = std::max(max_, us);
        ++total_;
    }
    void merge(const Histogram& o) {
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            counts_[i] += o.counts_[i];
        }
        max_ = std::max(max_, o.max_);
        total_ += o.total_;
    }
    /// The smallest value v (bucket's lower bound) such that fraction q of samples are <= v.
    [[nodiscard]] std::uint64_t quantile(double q) const {
        if (total_ == 0) {
            return 0;
        }
        auto want = static_cast<std::uint64_t>(q * static_cast<double>(total_));
        want = std::max<std::uint64_t>(1, std::min(want, total_));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= want) {
                return std::min(lower(i), max_);
            }
        }
        return max_;
    }
    [[nodiscard]] std::uint64_t max() const { return max_; }

  private:
    static constexpr std::size_t fine = 10'000;        // 1 us steps below 10 ms
    static constexpr std::size_t mid = 9'000;          // 10 us steps to 100 ms
    static constexpr std::size_t coarse = 100'000;     // 1 ms steps to 100 s
    static constexpr std::size_t bucket_count = fine + mid + coarse + 1;
    static std::size_t bucket(std::uint64_t us) {
        if (us < 10'000) {
            return us;
        }
        if (us < 100'000) {
            return fine + (us - 10'000) / 10;
        }
        return std::min<std::size_t>(fine + mid + (us - 100'000) / 1000, bucket_count - 1);
    }
    static std::uint64_t lower(std::size_t i) {
        if (i < fine) {
            return i;
        }
        if (i < fine + mid) {
            return 10'000 + (i - fine) * 10;
        }
        return 100'000 + (i - fine - mid) * 1000;
    }
    std::vector<std::uint64_t> counts_;
    std::uint64_t max_ = 0;
    std::uint64_t total_ = 0;
};

/// Errors are counted; only the first few are described, so a broken server cannot flood.
std::atomic<long> errors_printed{0};
void report_error(const char* what, std::string_view detail = {}) {
    if (errors_printed.fetch_add(1) < 5) {
        std::fprintf(stderr, "lonload: %s%s%.*s\n", what, detail.empty() ? "" : ": ",
                     static_cast<int>(std::min<std::size_t>(detail.size(), 120)), detail.data());
    }
}

/// Non-blocking connect to a unix socket; -1 on failure (errno kept).
int connect_unix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 &&
        errno != EINPROGRESS) {
        int e = errno;
        ::close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/// The payload of request `seq` on connection `conn`: unique, of exactly `size` bytes when
/// size allows, with no ':' (the echo server answers the text after the last ':').
std::string payload_for(int conn, std::uint64_t seq, std::size_t size) {
    std::string s = "c" + std::to_string(conn) + "n" + std::to_string(seq) + "x";
    s.resize(std::max(size, s.size()), 'a');
    return s;
}

struct Conn {
    int id = 0;
    int fd = -1;
    std::uint64_t next_seq = 0;       // next request to send
    std::uint64_t next_reply_seq = 0; // next reply expected
    std::vector<Clock::time_point> sent_at; // of requests in flight, oldest first
    std::size_t sent_head = 0;
    std::string in;
    std::size_t scanned = 0;
    std::string out;
    std::size_t out_off = 0;
};

struct Result {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    Histogram hist;
};

struct Shared {
    const Options* o = nullptr;
    std::string path;
    Clock::time_point start;
    Clock::time_point end;     // of the duration window
    Clock::time_point give_up; // --max-seconds
    std::atomic<long> remaining{0}; // requests still to start, in --requests mode
};

bool take_one(Shared& sh) {
    if (sh.o->requests == 0) {
        return Clock::now() < sh.end;
    }
    return sh.remaining.fetch_sub(1) > 0;
}

void close_conn(Conn& c) {
    if (c.fd >= 0) {
        ::close(c.fd);
    }
    c.fd = -1;
    c.in.clear();
    c.scanned = 0;
    c.out.clear();
    c.out_off = 0;
    c.sent_at.clear();
    c.sent_head = 0;
    c.next_reply_seq = c.next_seq;
}

/// One thread's share of the connections: a poll loop until the window closes or the fixed
/// number of requests is done, and every request in flight has been answered (or failed).
void run_thread(Shared& sh, std::vector<Conn>& conns, Result& res) {
    const Options& o = *sh.o;
    std::vector<pollfd> pfds(conns.size());
    std::vector<char> buf(256 * 1024);
    bool sending = true;
    for (;;) {
        auto now = Clock::now();
        if (now > sh.give_up) {
            report_error("gave up (--max-seconds)");
            for (auto& c : conns) {
                res.errors += c.sent_at.size() - c.sent_head;
                close_conn(c);
            }
            return;
        }
        bool busy = false;
        for (std::size_t i = 0; i < conns.size(); ++i) {
            Conn& c = conns[i];
            std::size_t inflight = c.sent_at.size() - c.sent_head;
            if (sending && c.fd < 0 && (o.connect_per_request || inflight == 0)) {
                if (take_one(sh)) {
                    auto t0 = Clock::now();
                    c.fd = connect_unix(sh.path);
                    if (c.fd < 0) {
                        ++res.errors;
                        report_error("connect", std::strerror(errno));
                        // The request is lost; a short pause keeps a dead server from a spin.
                        ::poll(nullptr, 0, 10);
                        continue;
                    }
                    c.out += o.command;
                    c.out += payload_for(c.id, c.next_seq++, o.payload);
                    c.out += '\n';
                    c.sent_at.push_back(t0);
                    inflight = 1;
                } else {
                    sending = false;
                }
            }
            if (!o.connect_per_request && c.fd >= 0) {
                while (sending && inflight < static_cast<std::size_t>(o.pipeline)) {
                    if (!take_one(sh)) {
                        sending = false;
                        break;
                    }
                    c.out += o.command;
                    c.out += payload_for(c.id, c.next_seq++, o.payload);
                    c.out += '\n';
                    c.sent_at.push_back(Clock::now());
                    ++inflight;
                }
            }
            if (c.fd >= 0 && inflight > 0) {
                busy = true;
            }
            pfds[i] = {c.fd, static_cast<short>(c.fd < 0 ? 0
                                                         : POLLIN | (c.out_off < c.out.size()
                                                                         ? POLLOUT
                                                                         : 0)),
                       0};
        }
        if (!sending && !busy) {
            break;
        }
        if (::poll(pfds.data(), pfds.size(), 100) < 0 && errno != EINTR) {
            report_error("poll", std::strerror(errno));
            return;
        }
        for (std::size_t i = 0; i < conns.size(); ++i) {
            Conn& c = conns[i];
            if (c.fd < 0 || pfds[i].revents == 0) {
                continue;
            }
            if ((pfds[i].revents & POLLOUT) != 0) {
                ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off,
                                   MSG_NOSIGNAL);
                if (n > 0) {
                    c.out_off += static_cast<std::size_t>(n);
                    if (c.out_off == c.out.size()) {
                        c.out.clear();
                        c.out_off = 0;
                    }
                }
            }
            if ((pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                continue;
            }
            ssize_t n = ::recv(c.fd, buf.data(), buf.size(), 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            if (n <= 0) {
                res.errors += c.sent_at.size() - c.sent_head;
                if (c.sent_at.size() > c.sent_head) {
                    report_error("connection closed with requests in flight");
                }
                close_conn(c);
                continue;
            }
            c.in.append(buf.data(), static_cast<std::size_t>(n));
            std::size_t pos = 0;
            auto done_at = Clock::now();
            for (;;) {
                std::size_t from = std::max(pos, c.scanned);
                const void* nl = std::memchr(c.in.data() + from, '\n', c.in.size() - from);
                if (nl == nullptr) {
                    break;
                }
                auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - c.in.data());
                std::string_view line(c.in.data() + pos, end - pos);
                pos = end + 1;
                if (c.sent_head >= c.sent_at.size()) {
                    ++res.errors;
                    report_error("reply without a request", line);
                    continue;
                }
                auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                              done_at - c.sent_at[c.sent_head++])
                              .count();
                if (line != payload_for(c.id, c.next_reply_seq++, o.payload)) {
                    ++res.errors;
                    report_error("wrong reply", line);
                } else {
                    ++res.requests;
                    res.hist.add(static_cast<std::uint64_t>(std::max<long long>(0, us)));
                }
            }
            c.in.erase(0, pos);
            c.scanned = c.in.size();
            if (c.sent_head == c.sent_at.size()) {
                c.sent_at.clear();
                c.sent_head = 0;
                if (o.connect_per_request) {
                    close_conn(c);
                }
            }
        }
    }
    for (auto& c : conns) {
        close_conn(c);
    }
}

/// Runs the load against `path`; returns the merged result and the wall time in seconds.
Result run_load(const std::string& path, const Options& o, double& seconds) {
    int threads = o.threads > 0 ? o.threads
                                : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    threads = std::min(threads, o.connections);
    std::vector<std::vector<Conn>> groups(static_cast<std::size_t>(threads));
    for (int i = 0; i < o.connections; ++i) {
        Conn c;
        c.id = i;
        if (!o.connect_per_request) {
            c.fd = connect_unix(path);
            if (c.fd < 0) {
                std::fprintf(stderr, "lonload: connect %s: %s\n", path.c_str(),
                             std::strerror(errno));
                std::exit(1);
            }
        }
        groups[static_cast<std::size_t>(i % threads)].push_back(std::move(c));
    }
    Shared sh;
    sh.o = &o;
    sh.path = path;
    sh.remaining = o.requests;
    std::vector<Result> results(groups.size());
    std::vector<std::thread> workers;
    // The window opens once every thread runs: on a loaded machine a thread may wait longer
    // than a short window to be scheduled, and would then send nothing at all.
    std::latch ready(static_cast<std::ptrdiff_t>(groups.size()));
    std::latch go(1);
    for (std::size_t t = 0; t < groups.size(); ++t) {
        workers.emplace_back([&, t] {
            ready.count_down();
            go.wait();
            run_thread(sh, groups[t], results[t]);
        });
    }
    ready.wait();
    sh.start = Clock::now();
    sh.end = sh.start + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(o.duration));
    sh.give_up = sh.start + std::chrono::seconds(o.max_seconds);
    go.count_down();
    for (auto& w : workers) {
        w.join();
    }
    seconds = std::chrono::duration<double>(Clock::now() - sh.start).count();
    Result all;
    for (auto& r : results) {
        all.requests += r.requests;
        all.errors += r.errors;
        all.hist.merge(r.hist);
    }
    return all;
}

/// The --reference server: answers each line with the text after its first ':', in a child.
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

void print_result(const Options& o, const Result& r, double secs) {
    double rps = secs > 0 ? static_cast<double>(r.requests) / secs : 0.0;
    if (o.json) {
        std::printf("{\"requests\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"rps\":%.1f,"
                    "\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,\"max_us\":%llu,"
                    "\"connections\":%d,\"pipeline\":%d,\"connect_per_request\":%s,"
                    "\"payload\":%zu}\n",
                    static_cast<unsigned long long>(r.requests),
                    static_cast<unsigned long long>(r.errors), secs, rps,
                    static_cast<unsigned long long>(r.hist.quantile(0.50)),
                    static_cast<unsigned long long>(r.hist.quantile(0.90)),
                    static_cast<unsigned long long>(r.hist.quantile(0.99)),
                    static_cast<unsigned long long>(r.hist.max()), o.connections, o.pipeline,
                    o.connect_per_request ? "true" : "false", o.payload);
    } else {
        std::printf("%llu requests (%llu errors) in %.2f s: %.0f req/s, latency us p50 %llu "
                    "p90 %llu p99 %llu max %llu\n",
                    static_cast<unsigned long long>(r.requests),
                    static_cast<unsigned long long>(r.errors), secs, rps,
                    static_cast<unsigned long long>(r.hist.quantile(0.50)),
                    static_cast<unsigned long long>(r.hist.quantile(0.90)),
                    static_cast<unsigned long long>(r.hist.quantile(0.99)),
                    static_cast<unsigned long long>(r.hist.max()));
    }
}

constexpr const char* usage =
    "usage: lonload --socket PATH [--connections C] [--pipeline N] [--connect-per-request]\n"
    "               [--payload BYTES] [--command PREFIX] (--requests N | --duration SECONDS)\n"
    "               [--threads T] [--json] [--reference] [--max-seconds S]\n";

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(usage, stdout);
            return 0;
        }
        if (a == "--connect-per-request") {
            o.connect_per_request = true;
            continue;
        }
        if (a == "--json") {
            o.json = true;
            continue;
        }
        if (a == "--reference") {
            o.reference = true;
            continue;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "lonload: %s needs a value\n%s", argv[i], usage);
            return 2;
        }
        const char* v = argv[++i];
        if (a == "--socket") {
            o.socket = v;
        } else if (a == "--connections") {
            o.connections = std::max(1, std::atoi(v));
        } else if (a == "--requests") {
            o.requests = std::max(1L, std::atol(v));
        } else if (a == "--duration") {
            o.duration = std::max(0.1, std::atof(v));
        } else if (a == "--payload") {
            o.payload = static_cast<std::size_t>(std::max(1L, std::atol(v)));
        } else if (a == "--pipeline" || a == "--window") {
            o.pipeline = std::max(1, std::atoi(v));
        } else if (a == "--command") {
            o.command = v;
        } else if (a == "--threads") {
            o.threads = std::max(1, std::atoi(v));
        } else if (a == "--max-seconds") {
            o.max_seconds = std::max(1, std::atoi(v));
        } else {
            std::fprintf(stderr, "lonload: unknown option %s\n%s", argv[i - 1], usage);
            return 2;
        }
    }
    if (o.socket.empty()) {
        std::fputs(usage, stderr);
        return 2;
    }
    if (o.requests == 0 && o.duration <= 0.0) {
        o.requests = 20000;
    }
    if (o.connect_per_request) {
        o.pipeline = 1;
    }
    double ref_s = 0;
    Result ref;
    if (o.reference) {
        std::string ref_path = "/tmp/lonload-ref." + std::to_string(::getpid());
        pid_t pid = start_reference(ref_path);
        ref = run_load(ref_path, o, ref_s);
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
        ::unlink(ref_path.c_str());
    }
    double secs = 0;
    Result r = run_load(o.socket, o, secs);
    if (o.reference) {
        double ref_rps = ref_s > 0 ? static_cast<double>(ref.requests) / ref_s : 0.0;
        double rps = secs > 0 ? static_cast<double>(r.requests) / secs : 0.0;
        std::printf("reference (local echo, no link): %.0f req/s\n", ref_rps);
        std::printf("through the socket:              %.0f req/s\n", rps);
        std::printf("ratio socket/reference:          %.3f\n", ref_rps > 0 ? rps / ref_rps : 0.0);
    }
    print_result(o, r, secs);
    return r.requests > 0 ? 0 : 1;
}
