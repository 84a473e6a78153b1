// Trust on first use (issue 8 §3): a man in the middle on the FIRST connection between two
// hosts that both hold certificates from the cluster CA, and whose CA roster lists each other,
// gets nothing in plaintext: no pin exists yet, the roster alone refuses the downgrade.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "harness.hpp"
#include "unique_fd.hpp"

using namespace it;

namespace {

lon::UniqueFd tcp_socket(const std::string& ip, bool listen_on_5663) {
    lon::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(listen_on_5663 ? lon_port : 0);
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        (listen_on_5663 && ::listen(fd.get(), 16) != 0)) {
        return {};
    }
    return fd;
}

/// The man in the middle, on `listen_ip`:5663 (where the victim's hosts table puts the peer).
/// rewrite: forwards to `dest_ip`:5663 from `source_ip` (the victim's own address, so the
/// peer's lond takes it for the victim) with the init line's offer rewritten to "insecure",
/// then relays both ways. impersonate: answers "ok:insecure" itself.
class Mitm {
  public:
    enum class Mode { rewrite, impersonate };
    Mitm(Mode mode, const std::string& listen_ip, const std::string& source_ip,
         std::string dest_ip)
        : mode_(mode), source_ip_(source_ip), dest_ip_(std::move(dest_ip)) {
        listener_ = tcp_socket(listen_ip, true);
        if (listener_.valid()) {
            thread_ = std::thread([this] { loop(); });
        }
    }
    Mitm(const Mitm&) = delete;
    Mitm& operator=(const Mitm&) = delete;
    ~Mitm() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    [[nodiscard]] bool ok() const { return listener_.valid(); }
    /// Init lines as the victim sent them; answers the victim got back.
    std::vector<std::string> inits() const { return copy(inits_); }
    std::vector<std::string> answers() const { return copy(answers_); }
    /// Bytes the victim sent after its init line (a request in plaintext, or a TLS hello).
    [[nodiscard]] long long after_init() const { return after_init_; }

  private:
    struct Pair {
        lon::UniqueFd victim;
        lon::UniqueFd peer;
        std::string line; ///< the init line so far
        bool init_done = false;
        bool answered = false;
        std::string answer;
    };

    std::vector<std::string> copy(const std::vector<std::string>& v) const {
        std::lock_guard<std::mutex> lock(mutex_);
        return v;
    }

    void connect_upstream(Pair& p) const {
        p.peer = tcp_socket(source_ip_, false);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(lon_port);
        ::inet_pton(AF_INET, dest_ip_.c_str(), &a.sin_addr);
        if (!p.peer.valid() ||
            ::connect(p.peer.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            p.peer.reset();
        }
    }

    void from_victim(Pair& p, const char* data, std::size_t n) {
        std::string_view in(data, n);
        if (!p.init_done) {
            auto nl = in.find('\n');
            p.line.append(in.substr(0, nl));
            if (nl == std::string_view::npos) {
                return;
            }
            p.init_done = true;
            in.remove_prefix(nl + 1);
            {
                std::lock_guard<std::mutex> lock(mutex_);
                inits_.push_back(p.line);
            }
            if (mode_ == Mode::impersonate) {
                (void)!::write(p.victim.get(), "ok:insecure\n", 12);
                std::lock_guard<std::mutex> lock(mutex_);
                answers_.emplace_back("ok:insecure");
            } else if (p.peer.valid()) {
                std::string forged = p.line.substr(0, p.line.rfind(':') + 1) + "insecure\n";
                (void)!::write(p.peer.get(), forged.data(), forged.size());
            }
        }
        after_init_ += static_cast<long long>(in.size());
        if (!in.empty() && p.peer.valid()) {
            (void)!::write(p.peer.get(), in.data(), in.size());
        }
    }

    void from_peer(Pair& p, const char* data, std::size_t n) {
        if (!p.answered) {
            std::string_view in(data, n);
            p.answer.append(in.substr(0, in.find('\n')));
            if (in.find('\n') != std::string_view::npos) {
                p.answered = true;
                std::lock_guard<std::mutex> lock(mutex_);
                answers_.push_back(p.answer);
            }
        }
        (void)!::write(p.victim.get(), data, n);
    }

    void loop() {
        std::vector<Pair> pairs;
        char buf[65536];
        while (!stop_) {
            std::vector<pollfd> fds{{listener_.get(), POLLIN, 0}};
            for (auto& p : pairs) {
                fds.push_back({p.victim.get(), POLLIN, 0});
                fds.push_back({p.peer.valid() ? p.peer.get() : -1, POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), 50) <= 0) {
                continue;
            }
            if ((fds[0].revents & POLLIN) != 0) {
                Pair p;
                p.victim = lon::UniqueFd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
                if (p.victim.valid()) {
                    if (mode_ == Mode::rewrite) {
                        connect_upstream(p);
                    }
                    pairs.push_back(std::move(p));
                }
            }
            for (std::size_t i = 0; i + 1 < fds.size(); i += 2) {
                Pair& p = pairs[i / 2];
                for (int side = 0; side < 2; ++side) {
                    if ((fds[i + 1 + static_cast<std::size_t>(side)].revents &
                         (POLLIN | POLLHUP | POLLERR)) == 0) {
                        continue;
                    }
                    int fd = side == 0 ? p.victim.get() : p.peer.get();
                    ssize_t n = ::read(fd, buf, sizeof buf);
                    if (n <= 0) {
                        p.victim.reset(); // either side gone: the pair is done
                        p.peer.reset();
                        break;
                    }
                    if (side == 0) {
                        from_victim(p, buf, static_cast<std::size_t>(n));
                    } else {
                        from_peer(p, buf, static_cast<std::size_t>(n));
                    }
                }
            }
            std::erase_if(pairs, [](const Pair& p) { return !p.victim.valid(); });
        }
    }

    Mode mode_;
    std::string source_ip_;
    std::string dest_ip_;
    lon::UniqueFd listener_;
    std::atomic<bool> stop_{false};
    std::atomic<long long> after_init_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> inits_;
    std::vector<std::string> answers_;
    std::thread thread_;
};

/// Two hosts with certificates from the cluster CA; both get a fresh roster listing both
/// (sign-response --roster-only, as an admin does after signing a new host). With
/// `mitm_view`, host 0's hosts table puts host 1 at the cluster's stranger address, where the
/// man in the middle sits.
struct RosterCluster {
    Cluster c{hosts(2)};
    explicit RosterCluster(bool mitm_view = true) {
        c.issue_certificate(0);
        c.issue_certificate(1);
        auto out = c.root() / "roster";
        std::filesystem::create_directories(out);
        auto r = run({"/bin/bash", (scripts_dir() / "sign-response").string(), "--ca-dir",
                      c.ca_dir().string(), "--roster-only", "--out-dir", out.string()});
        REQUIRE(r.code == 0);
        for (int i : {0, 1}) {
            std::filesystem::copy_file(out / "loncapaRoster.pem",
                                       c.dir(i) / "certs" / "loncapaRoster.pem",
                                       std::filesystem::copy_options::overwrite_existing);
        }
        if (!mitm_view) {
            return;
        }
        auto view = c.root() / "hosts-seen-by-host0.yaml";
        std::ofstream(view) << "hosts:\n  - { id: " << c.id(0) << ", address: " << c.address(0)
                            << " }\n  - { id: " << c.id(1)
                            << ", address: " << c.stranger_address() << " }\n";
        std::string config = read_file(c.config(0));
        auto at = config.find("hosts_file: ");
        REQUIRE(at != std::string::npos);
        config.replace(at, config.find('\n', at) - at, "hosts_file: " + view.string());
        std::ofstream(c.config(0)) << config;
    }
    bool pinned_anywhere() const {
        for (int i : {0, 1}) {
            std::error_code ec;
            if (!std::filesystem::is_empty(c.dir(i) / "state" / "pinned", ec) && !ec) {
                return true;
            }
        }
        return false;
    }
};

} // namespace

TEST_CASE("tls roster: an offer rewritten to insecure on the first link is refused as downgrade",
          "[integration][tls][roster]") {
    RosterCluster t;
    Mitm mitm(Mitm::Mode::rewrite, t.c.stranger_address(), t.c.address(0), t.c.address(1));
    REQUIRE(mitm.ok());
    t.c.start_lond(1);
    t.c.start_lonc(0);
    REQUIRE_FALSE(t.pinned_anywhere()); // the first link: nothing is pinned yet
    CHECK(t.c.request(0, 1, "echo:secret") == "con_lost");
    REQUIRE_FALSE(mitm.inits().empty());
    for (const auto& init : mitm.inits()) {
        CHECK(init.find(":ssl") != std::string::npos);
    }
    for (const auto& answer : mitm.answers()) {
        CHECK(answer == "refused:downgrade");
    }
    CHECK(mitm.after_init() == 0); // not one byte of a request went out in plaintext
    CHECK(read_file(t.c.log_file(1, "lond")).find("downgrade") != std::string::npos);
    CHECK_FALSE(t.pinned_anywhere());
}

TEST_CASE("tls roster: a man in the middle answering ok:insecure gets no request",
          "[integration][tls][roster]") {
    RosterCluster t;
    Mitm mitm(Mitm::Mode::impersonate, t.c.stranger_address(), t.c.address(0), t.c.address(1));
    REQUIRE(mitm.ok());
    t.c.start_lonc(0);
    CHECK(t.c.request(0, 1, "echo:secret") == "con_lost");
    REQUIRE_FALSE(mitm.inits().empty());
    for (const auto& init : mitm.inits()) {
        CHECK(init == "init:1:" + t.c.id(0) + ":" + t.c.id(1) + ":ssl"); // insecure not offered
    }
    CHECK(mitm.after_init() == 0);
    CHECK(read_file(t.c.log_file(0, "lonc")).find("not acceptable") != std::string::npos);
}

TEST_CASE("tls roster: a listed host asking for insecure directly is refused; ssl still links",
          "[integration][tls][roster]") {
    RosterCluster t(false);
    t.c.start_lond(1);
    RawTcpClient raw(t.c.address(0), t.c.address(1));
    REQUIRE(raw.connected());
    raw.send("init:1:" + t.c.id(0) + ":" + t.c.id(1) + ":insecure\n");
    CHECK(raw.read_line() == "refused:downgrade");
    // The genuine lonc links ssl as before.
    t.c.start_lond(0);
    t.c.start_lonc(1);
    CHECK(t.c.request(1, 0, "ping") == t.c.id(0));
    pid_t child = t.c.lonc_child(1, 0);
    CHECK(wait_until(5s, [&] { return read_title(child).find("(ssl)") != std::string::npos; }));
}

TEST_CASE("tls roster: a host the CA has not certified still links insecure where allowed",
          "[integration][tls][roster]") {
    Cluster c(hosts(3));
    c.issue_certificate(0);
    c.issue_certificate(1); // host 1's roster lists hosts 0 and 1, not host 2
    c.start_lond(1);
    c.start_lonc(2);
    CHECK(c.request(2, 1, "ping") == c.id(1)); // trust on first use for a host with no certificate
    pid_t child = c.lonc_child(2, 1);
    CHECK(wait_until(5s, [&] { return read_title(child).find("(insecure)") != std::string::npos; }));
}

TEST_CASE("tls roster: a roster signed by another CA is a load error naming the file",
          "[integration][tls][roster]") {
    RosterCluster t(false);
    auto other = t.c.root() / "other-ca";
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {"/bin/bash", (scripts_dir() / "make-cluster-ca").string(), "--ca-dir",
              other.string(), "--name", "foreign"},
             {"/bin/bash", (scripts_dir() / "sign-response").string(), "--ca-dir", other.string(),
              "--roster-only", "--out-dir", other.string()}}) {
        REQUIRE(run(argv).code == 0);
    }
    auto roster = t.c.dir(1) / "certs" / "loncapaRoster.pem";
    std::filesystem::copy_file(other / "loncapaRoster.pem", roster,
                               std::filesystem::copy_options::overwrite_existing);
    t.c.start_lond(1);
    RawTcpClient raw(t.c.address(0), t.c.address(1));
    REQUIRE(raw.connected());
    raw.send("init:1:" + t.c.id(0) + ":" + t.c.id(1) + ":insecure\n");
    // Unusable roster: host 0 is only as protected as before (not pinned: trust on first use).
    CHECK(raw.read_line() == "ok:insecure");
    CHECK(wait_until(5s, [&] {
        return read_file(t.c.log_file(1, "lond"))
                   .find(roster.string() + " is not signed by the cluster CA") != std::string::npos;
    }));
}
