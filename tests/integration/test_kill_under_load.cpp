// kill -9 of any process at any moment, under pipelined load from several local clients
// (issue "Liveness and limits", section 5): every request gets exactly one reply, the right
// one or con_lost, none waits past request_timeout plus a margin, and the link recovers by
// itself. When the local lonc child itself is killed its clients' connections end (there is
// nobody left to answer): those requests are counted as lost with the connection, and the
// clients reconnect, as applications do.

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.hpp"

using namespace it;

namespace {

/// What a load client saw.
struct Tally {
    std::atomic<long> sent{0};
    std::atomic<long> right{0};
    std::atomic<long> con_lost{0};
    std::atomic<long> lost_with_connection{0};
    std::atomic<long> wrong{0};      ///< a reply that was not this request's (or duplicated)
    std::atomic<long> overdue{0};    ///< waited longer than request_timeout + margin
    std::atomic<long> reconnects{0};
    std::mutex m;
    std::vector<std::string> samples; ///< the first few wrong replies, for the report
};

enum class Read { line, timeout, closed };

/// A pipelining local client with its own small socket code, so that a closed connection is
/// told apart from a slow one.
class LoadClient {
  public:
    LoadClient(std::filesystem::path path, int id, Tally& tally, std::chrono::milliseconds limit)
        : path_(std::move(path)), id_(id), tally_(tally), limit_(limit) {}

    void run(const std::atomic<bool>& stop, Clock::time_point hard_deadline) {
        connect();
        while (Clock::now() < hard_deadline) {
            while (!stop && fd_.valid() && window_.size() < 16) {
                std::string token = std::to_string(id_) + "-" + std::to_string(seq_++);
                std::string line = "echo:" + token + "\n";
                if (::send(fd_.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
                    static_cast<ssize_t>(line.size())) {
                    drop_connection();
                    break;
                }
                window_.push_back({token, Clock::now()});
                ++tally_.sent;
            }
            if (!fd_.valid()) {
                if (stop) {
                    return;
                }
                std::this_thread::sleep_for(20ms); // the child is being restarted
                connect();
                continue;
            }
            if (window_.empty()) {
                return; // stop was set and everything is answered
            }
            std::string reply;
            switch (read_line(reply, 200ms)) {
            case Read::line: {
                auto [token, sent] = window_.front();
                window_.erase(window_.begin());
                if (Clock::now() - sent > limit_) {
                    ++tally_.overdue;
                }
                if (reply == token) {
                    ++tally_.right;
                } else if (reply == "con_lost") {
                    ++tally_.con_lost;
                } else {
                    ++tally_.wrong;
                    std::lock_guard<std::mutex> g(tally_.m);
                    if (tally_.samples.size() < 5) {
                        tally_.samples.push_back("expected " + token + ", got " + reply);
                    }
                }
                break;
            }
            case Read::timeout:
                if (!window_.empty() && Clock::now() - window_.front().second > limit_) {
                    // Still no answer past the bound: count it once, keep waiting.
                    ++tally_.overdue;
                    window_.front().second = Clock::time_point::max() - 1h;
                }
                break;
            case Read::closed:
                drop_connection();
                break;
            }
        }
    }

  private:
    void connect() {
        lon::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
            fd_ = std::move(fd);
            in_.clear();
            ++tally_.reconnects;
        }
    }
    void drop_connection() {
        tally_.lost_with_connection += static_cast<long>(window_.size());
        window_.clear();
        fd_.reset();
    }
    Read read_line(std::string& line, std::chrono::milliseconds timeout) {
        auto deadline = Clock::now() + timeout;
        for (;;) {
            auto nl = in_.find('\n');
            if (nl != std::string::npos) {
                line = in_.substr(0, nl);
                in_.erase(0, nl + 1);
                return Read::line;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) {
                return Read::timeout;
            }
            pollfd p{fd_.get(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                continue;
            }
            char buf[65536];
            ssize_t n = ::read(fd_.get(), buf, sizeof buf);
            if (n <= 0) {
                return Read::closed;
            }
            in_.append(buf, static_cast<std::size_t>(n));
        }
    }

    std::filesystem::path path_;
    int id_;
    Tally& tally_;
    std::chrono::milliseconds limit_;
    lon::UniqueFd fd_;
    std::string in_;
    std::vector<std::pair<std::string, Clock::time_point>> window_;
    long seq_ = 0;
};

/// Kills `pid` with SIGKILL when this goes out of scope (a process we orphaned).
struct KillOnExit {
    std::vector<pid_t> pids;
    ~KillOnExit() {
        for (pid_t p : pids) {
            if (p > 0) {
                ::kill(p, SIGKILL);
            }
        }
    }
};

} // namespace

TEST_CASE("kill -9 under load: every request answered once, right or con_lost; the link recovers",
          "[integration][liveness][kill]") {
    ClusterOptions o = hosts(2);
    o.lonc.keepalive = "1s";
    o.lonc.request_timeout = "4s";
    o.lonc.retries = 3;
    o.lonc.backoff_initial = "100ms";
    o.lonc.backoff_max = "2s";
    o.lonc.idle_timeout = "60s";
    Cluster c(o);
    c.start_all();
    const std::string peer = c.id(1);
    REQUIRE(c.request(0, 1, "ping") == peer);

    Tally tally;
    std::atomic<bool> stop{false};
    const auto limit = 4s + 2s; // request_timeout plus a margin
    const auto hard_deadline = Clock::now() + 120s;
    std::vector<std::unique_ptr<LoadClient>> clients;
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(std::make_unique<LoadClient>(c.socket(0, 1), i, tally, limit));
    }
    for (auto& cl : clients) {
        threads.emplace_back([&cl, &stop, hard_deadline] { cl->run(stop, hard_deadline); });
    }
    struct Joiner {
        std::atomic<bool>& stop;
        std::vector<std::thread>& threads;
        ~Joiner() {
            stop = true;
            for (auto& t : threads) {
                if (t.joinable()) {
                    t.join();
                }
            }
        }
    } joiner{stop, threads};
    KillOnExit orphans;

    // Progress under load: the right replies keep coming.
    auto progressing = [&](std::chrono::milliseconds within) {
        long before = tally.right;
        return wait_until(within, [&] { return tally.right > before + 50; });
    };
    REQUIRE(progressing(5s));
    bool may_lose_connections = false; // only when the process holding them dies

    SECTION("the peer's lond child") {
        pid_t victim = c.lond_child(1, 0);
        REQUIRE(victim > 0);
        REQUIRE(::kill(victim, SIGKILL) == 0);
        CHECK(progressing(10s));
        CHECK(wait_until(5s, [&] { return c.lond_child(1, 0) > 0 && c.lond_child(1, 0) != victim; }));
    }
    SECTION("the peer's lond parent (then it is started again)") {
        pid_t parent = c.lond_pid(1);
        pid_t child = c.lond_child(1, 0);
        REQUIRE(::kill(parent, SIGKILL) == 0);
        // Its child notices the parent is gone and stops; nothing of the old lond remains.
        CHECK(wait_until(5s, [&] { return !alive(child); }));
        c.start_lond(1);
        CHECK(progressing(15s));
    }
    SECTION("the local lonc child") {
        pid_t victim = c.lonc_child(0, 1);
        REQUIRE(victim > 0);
        may_lose_connections = true;
        REQUIRE(::kill(victim, SIGKILL) == 0);
        // The clients' connections end with the child (replies it wrote before dying may
        // still be read first): they reconnect, and the new child serves them.
        CHECK(wait_until(10s, [&] { return tally.reconnects > 4; }));
        CHECK(progressing(15s));
    }
    SECTION("the local lonc parent (then it is started again)") {
        pid_t parent = c.lonc_pid(0);
        pid_t child = c.lonc_child(0, 1);
        orphans.pids.push_back(child); // should it outlive its parent after all
        // Its child follows it (parent-death signal) and stops the clean way: requests in
        // flight are answered con_lost, then the clients' connections end. Lines a client
        // writes after the child stopped reading are lost with the connection.
        may_lose_connections = true;
        REQUIRE(::kill(parent, SIGKILL) == 0);
        CHECK(wait_until(5s, [&] { return !alive(child); }));
        c.start_lonc(0);
        CHECK(c.request(0, 1, "ping", 10s) == peer);
        CHECK(progressing(15s));
    }

    stop = true;
    for (auto& t : threads) {
        t.join();
    }
    INFO("sent " << tally.sent << ", right " << tally.right << ", con_lost " << tally.con_lost
                 << ", lost with the connection " << tally.lost_with_connection << ", overdue "
                 << tally.overdue << ", reconnects " << tally.reconnects);
    std::string samples;
    for (const auto& s : tally.samples) {
        samples += s + "; ";
    }
    INFO("wrong replies: " << samples);
    CHECK(tally.wrong == 0);
    if (!may_lose_connections) {
        CHECK(tally.lost_with_connection == 0);
    }
    CHECK(tally.overdue == 0);
    CHECK(tally.right + tally.con_lost + tally.lost_with_connection == tally.sent);
    CHECK(tally.right > 0);
    // The link is healthy again.
    CHECK(c.request(0, 1, "ping", 10s) == peer);
}
