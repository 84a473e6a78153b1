// Process model promises (issue 8, section 2): children die with their parent, pid files are
// locks, and a running daemon keeps starting children after its binary was replaced.

#include <csignal>
#include <fstream>

#include <catch2/catch.hpp>
#include <unistd.h>

#include "harness.hpp"

using namespace it;

namespace {

/// Kills (by pid) every process it was given that is still alive when the test ends: the
/// children a test orphans on purpose are not anyone's Process any more.
struct OrphanGuard {
    std::vector<pid_t> pids;
    OrphanGuard() = default;
    OrphanGuard(const OrphanGuard&) = delete;
    OrphanGuard& operator=(const OrphanGuard&) = delete;
    void add(pid_t pid) {
        if (pid > 0) {
            pids.push_back(pid);
        }
    }
    ~OrphanGuard() {
        for (pid_t p : pids) {
            if (alive(p)) {
                ::kill(p, SIGKILL);
            }
        }
    }
};

/// The daemon `name` of the cluster's host `i`'s processes: pids whose title starts with
/// `prefix` among the children of `parent`.
int count_children_titled(pid_t parent, const std::string& prefix) {
    int n = 0;
    for (pid_t c : children_of(parent)) {
        n += read_title(c).rfind(prefix, 0) == 0 ? 1 : 0;
    }
    return n;
}

/// Whether process `pid` has `path` open (a descriptor of /proc/<pid>/fd links to it).
bool has_open(pid_t pid, const std::filesystem::path& path) {
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code rc;
        if (std::filesystem::read_symlink(e.path(), rc) == path) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST_CASE("children exit when their lonc or lond parent is killed; a restart has one child "
          "per peer",
          "[lifecycle2]") {
    Cluster c(hosts(3));
    c.start_all();
    OrphanGuard orphans;
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    REQUIRE(c.request(0, 2, "ping") == c.id(2));
    pid_t to1 = c.lonc_child(0, 1);
    pid_t to2 = c.lonc_child(0, 2);
    pid_t served1 = c.lond_child(1, 0);
    REQUIRE(to1 > 0);
    REQUIRE(to2 > 0);
    REQUIRE(served1 > 0);
    for (pid_t p : {to1, to2, served1}) {
        orphans.add(p);
    }
    // The children never hold their parent's pid file lock.
    CHECK_FALSE(has_open(to1, c.run_dir(0) / "lonc.pid"));
    CHECK_FALSE(has_open(served1, c.run_dir(1) / "lond.pid"));

    // A local client of the child for peer 1, with its request answered.
    UnixClient client(c.socket(0, 1));
    REQUIRE(client.connected());
    REQUIRE(client.request("ping") == c.id(1));

    ::kill(c.lonc_pid(0), SIGKILL);
    ::kill(c.lond_pid(1), SIGKILL);
    CHECK(wait_until(5s, [&] { return !alive(to1) && !alive(to2) && !alive(served1); }));
    CHECK_FALSE(alive(to1));
    CHECK_FALSE(alive(to2));
    CHECK_FALSE(alive(served1));
    // The client is told: its connection ends (end of file) rather than hanging.
    CHECK(client.read_line(5s) == std::nullopt);

    // Restarted: exactly one child per peer, and both links serve.
    c.start_lond(1);
    c.start_lonc(0);
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(c.request(0, 2, "ping") == c.id(2));
    CHECK(count_children_titled(c.lonc_pid(0), "lonc: " + c.id(1) + " ") == 1);
    CHECK(count_children_titled(c.lonc_pid(0), "lonc: " + c.id(2) + " ") == 1);
    CHECK(count_children_titled(c.lond_pid(1), "lond: " + c.id(0) + " ") == 1);
}

TEST_CASE("two lonc or two lond started at once: exactly one runs", "[lifecycle2]") {
    Cluster c(hosts(2));
    for (const char* name : {"lond", "lonc"}) {
        bool lond = std::string_view(name) == "lond";
        auto bin = (lond ? lond_bin() : lonc_bin()).string();
        auto pidfile = c.run_dir(0) / (std::string(name) + ".pid");
        for (int round = 0; round < 10; ++round) {
            INFO(name << " round " << round);
            std::vector<std::string> argv{bin, "--config", c.config(0).string(), "--foreground"};
            auto out_a = c.root() / (std::string(name) + ".a.out");
            auto out_b = c.root() / (std::string(name) + ".b.out");
            Process a(argv, out_a);
            Process b(argv, out_b);
            // One of them exits (the loser); the other writes its pid and stays.
            REQUIRE(wait_until(10s, [&] { return !alive(a.pid()) || !alive(b.pid()); }));
            Process& loser = alive(a.pid()) ? b : a;
            Process& winner = alive(a.pid()) ? a : b;
            auto code = loser.wait(5s);
            auto said = read_file(&loser == &a ? out_a : out_b);
            INFO(said);
            CHECK(code.has_value());
            CHECK(code != std::optional<int>(0));
            CHECK(said.find(pidfile.string()) != std::string::npos);
            CHECK(wait_until(5s, [&] {
                return read_pid_file(pidfile) == std::optional<pid_t>(winner.pid());
            }));
            CHECK(alive(winner.pid()));
            CHECK(winner.terminate() == std::optional<int>(0));
            CHECK_FALSE(std::filesystem::exists(pidfile));
        }
    }
}

TEST_CASE("a detached daemon keeps its pid file locked after its starter exits",
          "[lifecycle2]") {
    Cluster c(hosts(2));
    OrphanGuard orphans;
    for (const auto& bin : {lond_bin(), lonc_bin()}) {
        std::string name = bin.filename().string();
        INFO(name);
        auto started = run({bin.string(), "--config", c.config(0).string()});
        INFO(started.output);
        REQUIRE(started.code == 0);
        auto pid = read_pid_file(c.run_dir(0) / (name + ".pid"));
        REQUIRE(pid);
        orphans.add(*pid);
        CHECK(alive(*pid));
        auto second = run({bin.string(), "--config", c.config(0).string(), "--foreground"});
        INFO(second.output);
        CHECK(second.code == 3);
        CHECK(second.err.find((c.run_dir(0) / (name + ".pid")).string()) != std::string::npos);
        ::kill(*pid, SIGTERM);
        CHECK(wait_until(10s, [&] { return !alive(*pid); }));
    }
}

TEST_CASE("a pid file naming an unrelated live process does not block a start",
          "[lifecycle2]") {
    Cluster c(hosts(2));
    std::filesystem::create_directories(c.run_dir(0));
    // As after a reboot: the recorded pid now belongs to someone else (here: this test).
    for (const char* name : {"lond.pid", "lonc.pid"}) {
        std::ofstream(c.run_dir(0) / name) << ::getpid() << "\n";
    }
    c.start_lond(0);
    c.start_lonc(0);
    CHECK(read_pid_file(c.run_dir(0) / "lond.pid") == std::optional<pid_t>(c.lond_pid(0)));
    CHECK(read_pid_file(c.run_dir(0) / "lonc.pid") == std::optional<pid_t>(c.lonc_pid(0)));
}

TEST_CASE("after the binaries are replaced by rename, running daemons still start children",
          "[lifecycle2]") {
    TempDir bins;
    auto lond_copy = bins.path() / "lond";
    auto lonc_copy = bins.path() / "lonc";
    std::filesystem::copy_file(lond_bin(), lond_copy);
    std::filesystem::copy_file(lonc_bin(), lonc_copy);
    ClusterOptions o = hosts(2);
    o.lond_binary = lond_copy;
    o.lonc_binary = lonc_copy;
    Cluster c(o);
    c.start_all();
    // The upgrade: each file replaced by rename with another one (here one that cannot serve,
    // so only the old program running can answer).
    for (const auto& path : {lond_copy, lonc_copy}) {
        auto fresh = path.string() + ".dpkg-new";
        std::filesystem::copy_file("/bin/false", fresh);
        std::filesystem::rename(fresh, path);
    }
    // First requests: lonc of host 0 starts its child for host 1, lond of host 1 its child
    // for host 0, and the other way round.
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(c.request(1, 0, "ping") == c.id(0));
    CHECK(c.lonc_child(0, 1) > 0);
    CHECK(c.lond_child(0, 1) > 0);
}
