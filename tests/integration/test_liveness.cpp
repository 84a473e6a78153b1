// Dead peers are detected (issue: "Liveness and limits", section 1). A peer that goes silent
// while linked, without closing (SIGSTOP of its lond child, packets dropped as after a power
// loss, a lond that reads but never answers), must leave the title's Connection count within
// a few keepalives, fail what was in flight with con_lost at once, go DEAD after the
// configured retries, and come back by itself once it answers again.
//
// The bound from the contract: with keepalive 1s, request_timeout 4s, retries 3 and
// backoff_max 2s, the silent peer's connection is gone within ~6 s and the link is DEAD
// within ~15 s; when the peer is back the link is up within backoff_max plus a margin.

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.hpp"

using namespace it;

namespace {

/// The contract's liveness settings (backoff_initial keeps its 1s default).
ClusterOptions liveness_cluster(int n = 2) {
    ClusterOptions o = hosts(n);
    o.lonc.keepalive = "1s";
    o.lonc.request_timeout = "4s";
    o.lonc.retries = 3;
    o.lonc.backoff_initial = "1s";
    o.lonc.backoff_max = "2s";
    o.lonc.stable_after = "30s"; // the default
    o.lonc.idle_timeout = "60s";
    o.limits.handshake_timeout = "10s"; // the default: negotiation is bounded by keepalive
    return o;
}

/// Seconds since `t0`, for messages.
double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Waits until the lonc child's title is DEAD; returns the seconds it took from `t0` (or -1).
double await_dead(pid_t child, const std::string& peer, Clock::time_point t0,
                  std::chrono::milliseconds timeout) {
    bool dead = wait_until(timeout, [&] { return title::is_lonc_dead(read_title(child), peer); });
    return dead ? since(t0) : -1;
}

bool has_connection(pid_t child) {
    return read_title(child).find("Connection count") != std::string::npos;
}

/// Drops every packet to and from `address` with nftables while alive (a peer that lost
/// power: no RST, no answer). The rules are removed on every exit path by the destructor.
class Blackhole {
  public:
    explicit Blackhole(const std::string& address)
        : table_("lonlink_it_" + std::to_string(::getpid()) + "_" +
                 std::to_string(counter_++)) {
        std::string rules = "add table inet " + table_ + "\n" +
                            "add chain inet " + table_ +
                            " out { type filter hook output priority 0; policy accept; }\n" +
                            "add rule inet " + table_ + " out ip daddr " + address + " drop\n" +
                            "add rule inet " + table_ + " out ip saddr " + address + " drop\n";
        file_ = std::filesystem::temp_directory_path() / (table_ + ".nft");
        std::ofstream(file_) << rules;
        auto r = run({nft(), "-f", file_.string()});
        active_ = r.code == 0;
        error_ = r.output;
    }
    Blackhole(const Blackhole&) = delete;
    Blackhole& operator=(const Blackhole&) = delete;
    ~Blackhole() { lift(); }
    [[nodiscard]] bool active() const { return active_; }
    [[nodiscard]] const std::string& error() const { return error_; }
    void lift() {
        if (active_) {
            run({nft(), "delete", "table", "inet", table_});
            active_ = false;
        }
        std::error_code ignored;
        std::filesystem::remove(file_, ignored);
    }

    static std::string nft() {
        for (const char* p : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"}) {
            if (::access(p, X_OK) == 0) {
                return p;
            }
        }
        return "nft";
    }

  private:
    static inline int counter_ = 0;
    std::string table_;
    std::filesystem::path file_;
    bool active_ = false;
    std::string error_;
};

/// A stand-in for a peer's lond on `address`:5663 that answers every init with ok:insecure,
/// then reads everything and never answers (a hung application behind a live kernel).
class MuteServer {
  public:
    explicit MuteServer(const std::string& address) {
        fd_ = lon::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        int one = 1;
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(lon_port);
        ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
        ok_ = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
              ::listen(fd_.get(), 64) == 0;
        if (ok_) {
            thread_ = std::thread([this] { loop(); });
        }
    }
    MuteServer(const MuteServer&) = delete;
    MuteServer& operator=(const MuteServer&) = delete;
    ~MuteServer() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] long long bytes() const { return bytes_; }
    [[nodiscard]] int accepted() const { return accepted_; }

  private:
    void loop() {
        std::vector<lon::UniqueFd> conns;
        std::vector<bool> greeted;
        std::vector<char> buf(65536);
        while (!stop_) {
            std::vector<pollfd> fds{{fd_.get(), POLLIN, 0}};
            for (auto& c : conns) {
                fds.push_back({c.get(), POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), 50) <= 0) {
                continue;
            }
            if ((fds[0].revents & POLLIN) != 0) {
                int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
                if (c >= 0) {
                    conns.emplace_back(c);
                    greeted.push_back(false);
                    ++accepted_;
                }
            }
            for (std::size_t i = 1; i < fds.size(); ++i) {
                if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                    continue;
                }
                ssize_t n = ::read(conns[i - 1].get(), buf.data(), buf.size());
                if (n <= 0) {
                    conns[i - 1].reset();
                    continue;
                }
                bytes_ += n;
                if (!greeted[i - 1]) {
                    greeted[i - 1] = true;
                    static const char ok[] = "ok:insecure\n";
                    (void)!::send(conns[i - 1].get(), ok, sizeof ok - 1, MSG_NOSIGNAL);
                }
            }
            for (std::size_t i = conns.size(); i-- > 0;) {
                if (!conns[i].valid()) {
                    conns.erase(conns.begin() + static_cast<long>(i));
                    greeted.erase(greeted.begin() + static_cast<long>(i));
                }
            }
        }
    }

    lon::UniqueFd fd_;
    bool ok_ = false;
    std::atomic<bool> stop_{false};
    std::atomic<long long> bytes_{0};
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

} // namespace

TEST_CASE("liveness: a hung peer (SIGSTOP of its lond child) is detected, goes DEAD, comes back",
          "[integration][liveness]") {
    Cluster c(liveness_cluster());
    c.start_all();
    const std::string peer = c.id(1);
    REQUIRE(c.request(0, 1, "ping") == peer);
    pid_t child = c.lonc_child(0, 1);
    pid_t hung = c.lond_child(1, 0);
    REQUIRE(child > 0);
    REQUIRE(hung > 0);
    REQUIRE(await_title(child, title::lonc_linked(peer, 1, 3)) == title::lonc_linked(peer, 1, 3));

    REQUIRE(::kill(hung, SIGSTOP) == 0);
    struct Resume { // SIGCONT on every exit path, so cleanup can stop it
        pid_t pid;
        ~Resume() { ::kill(pid, SIGCONT); }
    } resume{hung};
    auto t0 = Clock::now();

    // A request sent into the silence gets con_lost when the link is found dead, well before
    // request_timeout would have run out on its own.
    UnixClient u(c.socket(0, 1));
    REQUIRE(u.connected());
    u.send("echo:into-the-void\n");
    auto reply = u.read_line(10s);
    double replied = since(t0);
    CHECK(reply == std::optional<std::string>("con_lost"));
    CHECK(replied < 4.0 + 1.5);

    CHECK(wait_until(8s, [&] { return !has_connection(child); }));
    double gone = since(t0);
    INFO("connection left the title after " << gone << " s");
    CHECK(gone < 6.5);

    double dead = await_dead(child, peer, t0, 20s);
    INFO("DEAD after " << dead << " s");
    CHECK(dead > 0);
    CHECK(dead < 15.0);
    // While DEAD, requests fail at once.
    auto asked = Clock::now();
    CHECK(c.request(0, 1, "ping", 5s) == "con_lost");
    CHECK(Clock::now() - asked < 1s);
    auto status = parse_json_object(c.request(0, 1, "lonc:status"));
    REQUIRE(status);
    auto counters = parse_json_object((*status)["counters"]);
    REQUIRE(counters);
    CHECK(std::atol((*counters)["links_lost"].c_str()) >= 1);

    // The peer answers again: the next probe (every backoff_max) links, with no operator.
    ::kill(hung, SIGCONT);
    auto back = Clock::now();
    CHECK(wait_until(8s, [&] { return has_connection(child); }));
    double up = since(back);
    INFO("linked again " << up << " s after SIGCONT");
    CHECK(up < 2.0 * 1.1 + 2.5);
    CHECK(c.request(0, 1, "ping") == peer);
    CHECK(c.lonc_child(0, 1) == child); // the same child recovered; nothing restarted it
}

TEST_CASE("liveness: a peer whose packets vanish (power loss) is detected the same way",
          "[integration][liveness]") {
    if (::geteuid() != 0) {
        WARN("not root: nftables rules cannot be added; skipped");
        return;
    }
    Cluster c(liveness_cluster());
    c.start_all();
    const std::string peer = c.id(1);
    REQUIRE(c.request(0, 1, "ping") == peer);
    pid_t child = c.lonc_child(0, 1);
    pid_t server = c.lond_child(1, 0);
    REQUIRE(child > 0);
    REQUIRE(await_title(child, title::lonc_linked(peer, 1, 3)) == title::lonc_linked(peer, 1, 3));

    auto t0 = Clock::now();
    std::optional<std::string> reply;
    double gone = 0;
    double dead = 0;
    {
        Blackhole hole(c.address(1));
        INFO("nft: " << hole.error());
        REQUIRE(hole.active());
        UnixClient u(c.socket(0, 1));
        REQUIRE(u.connected());
        u.send("echo:lost-at-sea\n");
        reply = u.read_line(10s);
        CHECK(wait_until(8s, [&] { return !has_connection(child); }));
        gone = since(t0);
        dead = await_dead(child, peer, t0, 20s);
        INFO("gone after " << gone << " s, DEAD after " << dead << " s");
        CHECK(reply == std::optional<std::string>("con_lost"));
        CHECK(gone < 6.5);
        CHECK(dead > 0);
        CHECK(dead < 15.0);
    } // packets flow again
    auto back = Clock::now();
    CHECK(wait_until(8s, [&] { return has_connection(child); }));
    INFO("linked again " << since(back) << " s after the rules went");
    CHECK(since(back) < 2.0 * 1.1 + 2.5);
    CHECK(c.request(0, 1, "ping") == peer);

    // The peer's lond side: the half-open session it kept from before the outage is closed
    // once it has received nothing for lond.idle_timeout (4 x keepalive here), so its title
    // counts only the new connection.
    CHECK(c.lond_child(1, 0) == server);
    CHECK(await_title(server, title::lond_child(c.id(0), 1), 10s) == title::lond_child(c.id(0), 1));
}

TEST_CASE("liveness: a peer that reads but never answers costs bounded memory and goes DEAD",
          "[integration][liveness]") {
    Cluster c(liveness_cluster());
    // Host 1 is not a real lond: a server that says ok:insecure and then swallows everything.
    MuteServer mute(c.address(1));
    REQUIRE(mute.ok());
    c.start_lonc(0);
    const std::string peer = c.id(1);

    UnixClient first(c.socket(0, 1));
    REQUIRE(first.connected());
    pid_t child = -1;
    REQUIRE(wait_until(5s, [&] { return (child = c.lonc_child(0, 1)) > 0; }));
    REQUIRE(wait_until(5s, [&] { return has_connection(child); }));
    long rss_before = proc_status_kb(child, "VmRSS");

    // Three rounds of 4 clients x 5,000 pipelined 1 KiB requests; every one must be
    // answered con_lost, and what the mute peer never answered must not pile up in lonc.
    const int clients = 4;
    const int per_client = 5000;
    const int rounds = 3;
    const std::string payload(1024, 'x');
    std::vector<std::unique_ptr<UnixClient>> us;
    for (int i = 0; i < clients; ++i) {
        us.push_back(std::make_unique<UnixClient>(c.socket(0, 1)));
        REQUIRE(us.back()->connected());
    }
    auto t0 = Clock::now();
    long peak = rss_before;
    int answered = 0;
    int wrong = 0;
    for (int round = 0; round < rounds; ++round) {
        std::vector<std::thread> writers;
        for (auto& u : us) {
            writers.emplace_back([&u, &payload] {
                std::string batch;
                for (int k = 0; k < per_client; ++k) {
                    batch += "echo:" + payload + "\n";
                    if (batch.size() > 64 * 1024) {
                        u->send(batch);
                        batch.clear();
                    }
                }
                u->send(batch);
            });
        }
        for (auto& u : us) {
            for (int k = 0; k < per_client; ++k) {
                auto r = u->read_line(20s);
                if (k % 256 == 0) {
                    peak = std::max(peak, proc_status_kb(child, "VmRSS"));
                }
                if (!r) {
                    break;
                }
                ++answered;
                wrong += *r != "con_lost";
            }
        }
        for (auto& w : writers) {
            w.join();
        }
    }
    INFO("RSS " << rss_before << " kB before, peak " << peak << " kB; " << since(t0) << " s");
    CHECK(answered == rounds * clients * per_client);
    CHECK(wrong == 0);
    CHECK(mute.bytes() > 0); // the requests did reach the mute peer
    // One round's worth (20 MiB of requests) may be in flight at once; rounds must not add up.
    if (!sanitized_build()) {
        CHECK(peak - rss_before < 40 * 1024);
    }
    // It is DEAD now (every link died unanswered), and says so.
    CHECK(wait_until(15s, [&] { return title::is_lonc_dead(read_title(child), peer); }));
}

TEST_CASE("liveness: a busy link is probed too; a live one survives a long request",
          "[integration][liveness]") {
    // Probing must not cost a live peer anything: an idle link is pinged every keepalive, the
    // peer answers, and the peer's lond (idle_timeout 4 x keepalive) sees traffic.
    Cluster c(liveness_cluster());
    c.start_all();
    const std::string peer = c.id(1);
    REQUIRE(c.request(0, 1, "ping") == peer);
    pid_t child = c.lonc_child(0, 1);
    // Quiet for longer than lond.idle_timeout (4 s): without our pings lond would close it.
    std::this_thread::sleep_for(5500ms); // the quiet period under test, not a readiness wait
    CHECK(read_title(child) == title::lonc_linked(peer, 1, 3));
    CHECK(c.request(0, 1, "echo:still-here") == "still-here");
    auto status = parse_json_object(c.request(0, 1, "lonc:status"));
    REQUIRE(status);
    auto counters = parse_json_object((*status)["counters"]);
    REQUIRE(counters);
    CHECK((*counters)["keepalive_timeouts"] == "0");
    CHECK((*counters)["links_lost"] == "0");
    // The lond side saw the pings: nothing was closed for idleness.
    auto lond_status = parse_json_object(read_file(c.run_dir(1) / ("lond." + c.id(0) + ".json")));
    REQUIRE(lond_status);
    auto lond_counters = parse_json_object((*lond_status)["counters"]);
    REQUIRE(lond_counters);
    CHECK((*lond_counters)["idle_closed"] == "0");
}
