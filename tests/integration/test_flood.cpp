// Floods and descriptor exhaustion (issue 7, section 2), lond side: idle strangers holding
// connections, lond at its descriptor limit, garbage connections, and more slow handler
// requests than lond may run or queue. In every case the legitimate peer is still served,
// the lond processes do not spin, their log stays small and the status counters show
// which bound was hit.

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.hpp"

using namespace it;

namespace {

std::uintmax_t size_of(const std::filesystem::path& p) {
    std::error_code ec;
    auto n = std::filesystem::file_size(p, ec);
    return ec ? 0 : n;
}

/// Lets this test process hold thousands of sockets.
void raise_own_fd_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
}

/// `count` addresses in the cluster's 127.x.y range that belong to no host (hosts use
/// .11 upwards, the harness's own stranger .250).
std::vector<std::string> stranger_addresses(const Cluster& c, int count) {
    std::string s = c.stranger_address();
    std::string net = s.substr(0, s.rfind('.'));
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
        out.push_back(net + "." + std::to_string(200 + i));
    }
    return out;
}

/// Connections opened without waiting (non-blocking connect) and held until destruction.
class Strangers {
public:
    /// Opens `per_source` connections from each source to `dest`, source after source;
    /// returns how many connects were started.
    std::size_t open(const std::vector<std::string>& sources, int per_source,
                     const std::string& dest) {
        std::size_t started = 0;
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        dst.sin_port = htons(lon_port);
        ::inet_pton(AF_INET, dest.c_str(), &dst.sin_addr);
        for (const auto& src_ip : sources) {
            for (int i = 0; i < per_source; ++i) {
                lon::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
                sockaddr_in src{};
                src.sin_family = AF_INET;
                ::inet_pton(AF_INET, src_ip.c_str(), &src.sin_addr);
                if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
                    continue;
                }
                int r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst);
                if (r == 0 || errno == EINPROGRESS) {
                    ++started;
                    fds_.push_back(std::move(fd));
                }
            }
        }
        return started;
    }

private:
    std::vector<lon::UniqueFd> fds_;
};

/// The parent's status file run_dir/lond.json, parsed; counters as numbers.
struct ParentStatus {
    std::map<std::string, std::string> top;
    std::map<std::string, long long> counters;
};
std::optional<ParentStatus> parent_status(const Cluster& c, int i) {
    auto top = parse_json_object(read_file(c.run_dir(i) / "lond.json"));
    if (!top || top->count("counters") == 0) {
        return std::nullopt;
    }
    auto counters = parse_json_object((*top)["counters"]);
    if (!counters) {
        return std::nullopt;
    }
    ParentStatus s{*top, {}};
    for (const auto& [k, v] : *counters) {
        s.counters[k] = std::atoll(v.c_str());
    }
    return s;
}
long long parent_counter(const Cluster& c, int i, const std::string& name) {
    auto s = parent_status(c, i);
    return s && s->counters.count(name) ? s->counters[name] : -1;
}
/// A counter of the lond child of host `at` for peer `from` (run_dir/lond.<peer>.json).
long long child_counter(const Cluster& c, int at, int from, const std::string& name) {
    auto top = parse_json_object(read_file(c.run_dir(at) / ("lond." + c.id(from) + ".json")));
    if (!top || top->count("counters") == 0) {
        return -1;
    }
    auto counters = parse_json_object((*top)["counters"]);
    return counters && counters->count(name) ? std::atoll((*counters)[name].c_str()) : -1;
}

/// Starts lonc on host `from` and waits (bounded) for its socket for peer `to`.
void start_lonc_for(Cluster& c, int from, int to) {
    c.start_lonc(from);
    REQUIRE(wait_until(5s, [&] { return std::filesystem::exists(c.socket(from, to)); }));
}

std::string init_line(const Cluster& c, int from, int to) {
    return "init:1:" + c.id(from) + ":" + c.id(to) + ":insecure\n";
}

/// A lond.handler for tests: a unix socket server (one thread, poll) that holds each
/// request for `hold` before answering "done:<request>" ("big" requests get a reply of
/// `big_reply` bytes). Records how many requests it held at once.
class SlowHandler {
public:
    SlowHandler(const std::filesystem::path& path, std::chrono::milliseconds hold,
                std::size_t big_reply = 0)
        : hold_(hold), big_reply_(big_reply) {
        listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
        ok_ = listen_ && ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
              ::listen(listen_.get(), 1024) == 0 && ::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) == 0;
        if (ok_) {
            thread_ = std::thread([this] { run(); });
        }
    }
    SlowHandler(const SlowHandler&) = delete;
    SlowHandler& operator=(const SlowHandler&) = delete;
    ~SlowHandler() {
        if (thread_.joinable()) {
            stop_ = true;
            [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
            thread_.join();
        }
        if (ok_) {
            ::close(wake_[0]);
            ::close(wake_[1]);
        }
    }
    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] int max_held() const { return max_held_; }
    [[nodiscard]] int held() const { return held_; }
    [[nodiscard]] int answered() const { return answered_; }

private:
    struct Conn {
        lon::UniqueFd fd;
        std::string in;
        bool have_line = false;
        Clock::time_point due{};
        std::string reply;
    };

    void run() {
        std::vector<Conn> conns;
        while (!stop_) {
            std::vector<pollfd> pfds{{listen_.get(), POLLIN, 0}, {wake_[0], POLLIN, 0}};
            for (auto& c : conns) {
                pfds.push_back({c.fd.get(), static_cast<short>(c.have_line ? 0 : POLLIN), 0});
            }
            int timeout = 20;
            ::poll(pfds.data(), pfds.size(), timeout);
            if (pfds[0].revents & POLLIN) {
                for (;;) {
                    int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
                    if (fd < 0) {
                        break;
                    }
                    Conn c;
                    c.fd.reset(fd);
                    conns.push_back(std::move(c));
                }
            }
            for (std::size_t i = 0; i + 2 < pfds.size() && i < conns.size(); ++i) {
                Conn& c = conns[i];
                if (c.have_line || (pfds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                    continue;
                }
                char buf[4096];
                ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
                if (n <= 0) {
                    c.fd.reset();
                    continue;
                }
                c.in.append(buf, static_cast<std::size_t>(n));
                auto nl = c.in.find('\n');
                if (nl == std::string::npos) {
                    continue;
                }
                std::string line = c.in.substr(0, nl);
                std::string request = line.substr(line.find(':') + 1); // after "<peer>:"
                c.have_line = true;
                c.due = Clock::now() + hold_;
                c.reply = request.rfind("big", 0) == 0 ? std::string(big_reply_, 'x')
                                                        : "done:" + request;
            }
            int held = 0;
            for (auto& c : conns) {
                if (c.fd && c.have_line && Clock::now() >= c.due) {
                    std::string out = c.reply + "\n";
                    // Replies are small or the peer reads them at once: a blocking write.
                    int flags = ::fcntl(c.fd.get(), F_GETFL);
                    ::fcntl(c.fd.get(), F_SETFL, flags & ~O_NONBLOCK);
                    [[maybe_unused]] auto n = ::send(c.fd.get(), out.data(), out.size(), MSG_NOSIGNAL);
                    c.fd.reset();
                    ++answered_;
                }
                held += c.fd && c.have_line ? 1 : 0;
            }
            held_ = held;
            max_held_ = std::max(max_held_.load(), held);
            std::erase_if(conns, [](const Conn& c) { return !c.fd; });
        }
    }

    std::chrono::milliseconds hold_;
    std::size_t big_reply_;
    lon::UniqueFd listen_;
    int wake_[2] = {-1, -1};
    bool ok_ = false;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<int> max_held_{0};
    std::atomic<int> held_{0};
    std::atomic<int> answered_{0};
};

/// Reads `n` tagged replies (bounded by `timeout` overall) into tag -> replies.
std::map<std::string, std::vector<std::string>> read_replies(RawTcpClient& t, int n,
                                                             std::chrono::milliseconds timeout) {
    std::map<std::string, std::vector<std::string>> got;
    auto deadline = Clock::now() + timeout;
    for (int i = 0; i < n && Clock::now() < deadline; ++i) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto line = t.read_line(std::max(left, std::chrono::milliseconds(1)));
        if (!line) {
            break;
        }
        auto sp = line->find(' ');
        got[line->substr(0, sp)].push_back(sp == std::string::npos ? "" : line->substr(sp + 1));
    }
    return got;
}

} // namespace

TEST_CASE("flood: 2,000 idle strangers hit both pending-init caps; a real peer still links",
          "[flood]") {
    raise_own_fd_limit();
    ClusterOptions o = hosts(2);
    // Strangers are not timed out during the test: only the caps protect lond.
    o.limits_yaml = "{ handshake_timeout: 60s, max_pending_inits: 512, "
                    "max_pending_inits_per_address: 32 }";
    Cluster c(o);
    c.start_lond(1);
    const pid_t lond = c.lond_pid(1);
    REQUIRE(wait_until(5s, [&] { return parent_status(c, 1).has_value(); }));
    auto status = parent_status(c, 1);
    CHECK(status->top["role"] == "\"lond-parent\"");
    CHECK(status->top["pid"] == std::to_string(lond));
    const double cpu_before = cpu_seconds(lond);
    const auto log_before = size_of(c.log_file(1, "lond"));

    // 25 sources x 80 connections: 32 per source at most wait (the rest are refused), and
    // 25 x 32 = 800 > 512 in total, so the oldest are dropped.
    Strangers strangers;
    REQUIRE(strangers.open(stranger_addresses(c, 25), 80, c.address(1)) == 2000);
    CHECK(wait_until(10s, [&] {
        return parent_counter(c, 1, "pending_over_address_cap") > 0 &&
               parent_counter(c, 1, "pending_evicted") > 0;
    }));

    // The real peer links and is served within a few seconds, strangers still connected.
    start_lonc_for(c, 0, 1);
    auto start = Clock::now();
    CHECK(c.request(0, 1, "ping", 10s) == c.id(1));
    CHECK(Clock::now() - start < 5s);
    CHECK(await_title(lond, title::lond_parent(c.id(1), c.address(1), 1)) ==
          title::lond_parent(c.id(1), c.address(1), 1));

    CHECK(cpu_seconds(lond) - cpu_before < 2.0);
    CHECK(size_of(c.log_file(1, "lond")) - log_before < 200'000);
    CHECK(wait_until(3s, [&] {
        auto s = parent_status(c, 1);
        return s && s->top["peers"] == "1" && std::atoll(s->top["pending_inits"].c_str()) <= 512;
    }));
    INFO(read_file(c.run_dir(1) / "lond.json"));
    CHECK(parent_counter(c, 1, "pending_over_address_cap") >= 25 * (80 - 32) / 2);
    CHECK(parent_counter(c, 1, "pending_evicted") > 0);
}

TEST_CASE("flood: lond at its descriptor limit neither spins nor floods its log, and serves "
          "the peer",
          "[flood]") {
    raise_own_fd_limit();
    ClusterOptions o = hosts(2);
    o.limits_yaml = "{ handshake_timeout: 60s }";
    Cluster c(o);
    // prlimit execs bash, which takes 60 descriptors the pending-init budget does not know
    // about and execs lond (same pid): the strangers run lond out of descriptors (EMFILE).
    c.start_lond(1, {"/usr/bin/prlimit", "--nofile=160", "/bin/bash", "-c",
                     "for i in $(seq 20 79); do eval \"exec $i</dev/null\"; done; "
                     "exec \"$0\" \"$@\""});
    const pid_t lond = c.lond_pid(1);
    CHECK(wait_until(5s, [&] { return parent_status(c, 1).has_value(); }));
    const double cpu_before = cpu_seconds(lond);
    const auto log_before = size_of(c.log_file(1, "lond"));

    Strangers strangers;
    REQUIRE(strangers.open(stranger_addresses(c, 10), 40, c.address(1)) == 400);
    CHECK(wait_until(10s, [&] { return parent_counter(c, 1, "accept_errors") > 0; }));
    // Held for a while at the limit: an old lond would spin on accept() here.
    CHECK_FALSE(wait_until(2s, [&] { return !alive(lond); }));

    start_lonc_for(c, 0, 1);
    auto start = Clock::now();
    CHECK(c.request(0, 1, "ping", 10s) == c.id(1));
    CHECK(Clock::now() - start < 5s);
    CHECK(c.request(0, 1, "echo:still here") == "still here");

    double cpu = cpu_seconds(lond) - cpu_before;
    auto log_growth = size_of(c.log_file(1, "lond")) - log_before;
    INFO("cpu " << cpu << " s, log +" << log_growth << " bytes");
    INFO(read_file(c.run_dir(1) / "lond.json"));
    CHECK(cpu < 1.5);
    CHECK(log_growth < 100'000);
    CHECK(parent_counter(c, 1, "pending_evicted") > 0);
    CHECK(read_title(lond) == title::lond_parent(c.id(1), c.address(1), 1));
}

TEST_CASE("flood: thousands of garbage connections cost a bounded amount of log",
          "[flood]") {
    raise_own_fd_limit();
    Cluster c(hosts(2));
    c.start_lond(1);
    start_lonc_for(c, 0, 1);
    const pid_t lond = c.lond_pid(1);
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    const auto log_before = size_of(c.log_file(1, "lond"));
    const double cpu_before = cpu_seconds(lond);

    auto sources = stranger_addresses(c, 8);
    int sent = 0;
    for (int i = 0; i < 4000; ++i) {
        const auto& src = sources[static_cast<std::size_t>(i) % sources.size()];
        RawTcpClient t(src, c.address(1));
        if (!t.connected()) {
            continue;
        }
        // Junk of every kind the gate refuses: malformed lines, and well-formed inits from
        // addresses that are not the claimed host's.
        t.send(i % 2 == 0 ? std::string("GET / HTTP/1.0 junk junk junk\n") : init_line(c, 0, 1));
        ++sent;
    } // each connection is closed at once
    REQUIRE(sent == 4000);
    CHECK(wait_until(10s, [&] {
        return parent_counter(c, 1, "refused_bad_init") + parent_counter(c, 1, "refused_address_mismatch") >= 3000;
    }));
    auto log_growth = size_of(c.log_file(1, "lond")) - log_before;
    INFO("log +" << log_growth << " bytes");
    INFO(read_file(c.run_dir(1) / "lond.json"));
    CHECK(log_growth < 64'000);
    CHECK(cpu_seconds(lond) - cpu_before < 5.0);
    // The throttled lines still name the reason, the address and how many were not logged.
    CHECK(file_has_line_with(c.log_file(1, "lond"), {"address_mismatch", sources[1]}));
    CHECK(file_has_line_with(c.log_file(1, "lond"), {"malformed init line", sources[0]}));
    CHECK(c.request(0, 1, "ping") == c.id(1));

    // The status file goes away with the parent.
    CHECK(c.terminate_lond(1) == std::optional<int>(0));
    CHECK_FALSE(std::filesystem::exists(c.run_dir(1) / "lond.json"));
}

TEST_CASE("flood: slow handler requests beyond max_handler_requests + max_handler_queue get "
          "error:busy, each exactly one reply, and the lond child goes on",
          "[flood]") {
    ClusterOptions o = hosts(2);
    o.limits.max_message_bytes = "1KiB";
    Cluster c(o);
    auto handler_path = c.root() / "handler.sock";
    SlowHandler handler(handler_path, 600ms, 1010);
    REQUIRE(handler.ok());
    std::ofstream(c.config(1), std::ios::app)
        << "lond: { handler: " << handler_path.string()
        << ", insecure_commands: [ping, slow, big], max_handler_requests: 4, "
           "max_handler_queue: 8 }\n";
    c.start_lond(1);

    RawTcpClient t(c.address(0), c.address(1));
    REQUIRE(t.connected());
    t.send(init_line(c, 0, 1));
    REQUIRE(t.read_line() == std::optional<std::string>("ok:insecure"));
    const pid_t child = c.lond_child(1, 0);
    REQUIRE(child > 0);

    std::string burst;
    const int n = 40;
    for (int i = 1; i <= n; ++i) {
        burst += std::to_string(i) + " slow:" + std::to_string(i) + "\n";
    }
    t.send(burst);
    auto got = read_replies(t, n, 20s);
    int busy = 0;
    int done = 0;
    for (int i = 1; i <= n; ++i) {
        auto tag = std::to_string(i);
        INFO("tag " << tag);
        REQUIRE(got[tag].size() == 1); // exactly one reply each
        busy += got[tag][0] == "error:busy" ? 1 : 0;
        done += got[tag][0] == "done:slow:" + tag ? 1 : 0;
    }
    CHECK(got.size() == static_cast<std::size_t>(n));
    CHECK(busy + done == n);
    CHECK(done >= 4 + 8);
    CHECK(busy >= 20);
    CHECK(handler.max_held() <= 4);
    // No stray second reply.
    CHECK_FALSE(t.read_line(300ms).has_value());

    // Same child, and it serves again.
    CHECK(c.lond_child(1, 0) == child);
    t.send("41 slow:again\n");
    CHECK(t.read_line(5s) == std::optional<std::string>("41 done:slow:again"));
    // A reply that would not fit in a tagged line of max_message_bytes: error:too_long.
    t.send("42 big\n");
    CHECK(t.read_line(5s) == std::optional<std::string>("42 error:too_long"));
    CHECK(wait_until(3s, [&] {
        return child_counter(c, 1, 0, "handler_busy") >= busy &&
               child_counter(c, 1, 0, "handler_queued") >= 8 &&
               child_counter(c, 1, 0, "too_long") >= 1;
    }));
    CHECK(alive(child));
}

TEST_CASE("flood: a lond child out of descriptors drops a handed-over connection, answers "
          "error:handler_unavailable, and goes on serving",
          "[flood]") {
    ClusterOptions o = hosts(2);
    Cluster c(o);
    auto handler_path = c.root() / "handler.sock";
    SlowHandler handler(handler_path, 4000ms);
    REQUIRE(handler.ok());
    // The handler bound is above what 64 descriptors allow: the child runs out of them.
    std::ofstream(c.config(1), std::ios::app)
        << "lond: { handler: " << handler_path.string()
        << ", insecure_commands: [ping, slow], max_handler_requests: 200, "
           "max_handler_queue: 10 }\n";
    c.start_lond(1, {"/usr/bin/prlimit", "--nofile=64"});

    RawTcpClient t(c.address(0), c.address(1));
    REQUIRE(t.connected());
    t.send(init_line(c, 0, 1));
    REQUIRE(t.read_line() == std::optional<std::string>("ok:insecure"));
    const pid_t child = c.lond_child(1, 0);
    REQUIRE(child > 0);

    std::string burst;
    const int n = 100;
    for (int i = 1; i <= n; ++i) {
        burst += std::to_string(i) + " slow:" + std::to_string(i) + "\n";
    }
    t.send(burst);
    // The first error:handler_unavailable means the child has no descriptor left. (Since lond
    // pools its handler connections, the first requests go out one per connection until the
    // handler shows it closes after each reply; only then does each request get a connection
    // of its own, and the descriptors run out. Replies read before that one are kept.)
    std::map<std::string, std::vector<std::string>> got;
    int read = 0;
    std::optional<std::string> first;
    const auto until = Clock::now() + 10s;
    while (!first && Clock::now() < until) {
        auto line = t.read_line(500ms);
        if (!line) {
            continue;
        }
        ++read;
        got[line->substr(0, line->find(' '))].push_back(line->substr(line->find(' ') + 1));
        if (line->find("error:handler_unavailable") != std::string::npos) {
            first = line;
        }
    }
    INFO("lond output: " << read_file(c.output_file(1, "lond")));
    REQUIRE(first.has_value());
    REQUIRE(wait_until(2s, [&] { return handler.held() > 0; })); // it holds the others

    // More connections now cannot all be handed over (no descriptor for them in the child).
    // The pool stops opening handler connections at EMFILE (it backs off), so the few
    // descriptors freed just after (the first handler connections reaching their EOF) stay
    // free and take the first of these; a later one finds none.
    std::vector<std::unique_ptr<RawTcpClient>> more;
    for (int i = 0; i < 8; ++i) {
        more.push_back(std::make_unique<RawTcpClient>(c.address(0), c.address(1)));
        REQUIRE(more.back()->connected());
        more.back()->send(init_line(c, 0, 1));
    }
    bool dropped = false;
    for (auto stop = Clock::now() + 3s; !dropped && Clock::now() < stop;) {
        for (auto& m : more) {
            dropped = dropped || m->closed_by_peer(50ms);
        }
    }
    CHECK(dropped);
    more.clear();

    // Every request of the first connection still gets exactly one reply.
    for (auto& [tag, replies] : read_replies(t, n - read, 15s)) {
        for (auto& r : replies) {
            got[tag].push_back(r);
        }
    }
    int unavailable = 0;
    int done = 0;
    for (int i = 1; i <= n; ++i) {
        auto tag = std::to_string(i);
        INFO("tag " << tag);
        REQUIRE(got[tag].size() == 1);
        unavailable += got[tag][0] == "error:handler_unavailable" ? 1 : 0;
        done += got[tag][0] == "done:slow:" + tag ? 1 : 0;
    }
    CHECK(unavailable + done == n);
    CHECK(done > 0);
    CHECK(unavailable > 0);

    // The child is the same and takes new connections again.
    CHECK(c.lond_child(1, 0) == child);
    RawTcpClient t3(c.address(0), c.address(1));
    REQUIRE(t3.connected());
    t3.send(init_line(c, 0, 1));
    CHECK(t3.read_line() == std::optional<std::string>("ok:insecure"));
    t3.send("1 ping\n");
    CHECK(t3.read_line() == std::optional<std::string>("1 " + c.id(1)));
    CHECK(wait_until(3s, [&] { return child_counter(c, 1, 0, "handoff_failed") >= 1; }));
    CHECK(c.lond_child(1, 0) == child);
}
