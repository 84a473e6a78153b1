// Operations as an admin meets them (issue 10): loncontrol says what happened and keeps a
// host running on a bad config, status lists every configured peer, lonreply and the daemons
// explain what to do, titles and logs stay truthful (an ssl lond child, IPv6 addresses).

#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "loncontrol_run.hpp"

using namespace it;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// True when some line of `text` contains every one of `parts`.
bool has_line_with(const std::string& text, const std::vector<std::string>& parts) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        bool all = true;
        for (const auto& p : parts) {
            all = all && contains(line, p);
        }
        if (all) {
            return true;
        }
    }
    return false;
}

/// Appends a key the daemons do not know: the config no longer loads.
void break_config(const std::filesystem::path& config) {
    std::ofstream(config, std::ios::app) << "bogus_key: 1\n";
}

/// Host 0 started through loncontrol (its daemons killed by `guard` at the end): the pids of
/// its lond and lonc parents.
std::pair<std::optional<pid_t>, std::optional<pid_t>> start_host0(Cluster& c,
                                                                    PidFileGuard& guard) {
    guard.add_host(c, 0);
    REQUIRE(loncontrol(c, 0, "start").code == 0);
    auto lond_pid = read_pid_file(c.run_dir(0) / "lond.pid");
    auto lonc_pid = read_pid_file(c.run_dir(0) / "lonc.pid");
    REQUIRE(lond_pid);
    REQUIRE(lonc_pid);
    return {lond_pid, lonc_pid};
}

} // namespace

TEST_CASE("ops: loncontrol reload says whether the daemons took it", "[integration][ops]") {
    Cluster c(hosts(2));
    PidFileGuard guard;
    auto [lond_pid, lonc_pid] = start_host0(c, guard);
    std::string good = read_file(c.config(0));

    // A config that does not load: nothing is sent, and it says so.
    break_config(c.config(0));
    auto bad = loncontrol(c, 0, "reload");
    INFO(bad.output);
    CHECK(bad.code != 0);
    CHECK(contains(bad.output, "bogus_key"));
    CHECK(contains(bad.output, "not reloaded"));
    std::ofstream(c.config(0), std::ios::trunc) << good;

    // A config that loads, with certificates the daemons refuse (a key readable by others):
    // each daemon's own verdict.
    auto certs = c.dir(0) / "certs";
    std::filesystem::create_directories(certs);
    for (const char* f : {"lonhostkey.pem", "lonhostcert.pem", "loncapaCA.pem"}) {
        std::ofstream(certs / f) << "not a pem\n";
    }
    std::filesystem::permissions(certs / "lonhostkey.pem", std::filesystem::perms(0644));
    auto refused = loncontrol(c, 0, "reload");
    INFO(refused.output);
    CHECK(refused.code != 0);
    CHECK(has_line_with(refused.output, {"lond", "refused", "lonhostkey.pem"}));
    CHECK(has_line_with(refused.output, {"lonc", "refused", "lonhostkey.pem"}));
    CHECK(alive(*lond_pid));
    CHECK(alive(*lonc_pid));
    for (const char* f : {"lonhostkey.pem", "lonhostcert.pem", "loncapaCA.pem"}) {
        std::filesystem::remove(certs / f);
    }

    std::ofstream(c.config(0), std::ios::trunc) << good;
    auto ok = loncontrol(c, 0, "reload");
    INFO(ok.output);
    CHECK(ok.code == 0);
    CHECK(has_line_with(ok.output, {"lond", "reloaded"}));
    CHECK(has_line_with(ok.output, {"lonc", "reloaded"}));
    CHECK(loncontrol(c, 0, "stop").code == 0);
}

TEST_CASE("ops: loncontrol reload of a hung daemon (SIGSTOP) says that it did not answer, "
          "and the daemon takes the reload once it runs again",
          "[integration][ops][reload_hung]") {
    Cluster c(hosts(2));
    PidFileGuard guard;
    auto [lond_pid, lonc_pid] = start_host0(c, guard);
    REQUIRE(::kill(*lond_pid, SIGSTOP) == 0);
    struct Resume { // the parent runs again on every way out of the test
        pid_t pid;
        ~Resume() { ::kill(pid, SIGCONT); }
    } resume{*lond_pid};

    auto started = Clock::now();
    auto r = loncontrol(c, 0, "reload");
    auto took = Clock::now() - started;
    INFO(r.output);
    CHECK(r.code != 0);
    CHECK(has_line_with(r.output, {"lond", "did not say within 10 s", "lond.log"}));
    // The other daemon is not held up ("lonc (pid N) reloaded ...").
    CHECK(contains(r.output, "lonc (pid " + std::to_string(*lonc_pid) + ") reloaded"));
    CHECK(took >= 9s); // it waited for the verdict, bounded
    CHECK(took < 20s);

    // Running again, lond handles the HUP that waited and says so where loncontrol looks.
    REQUIRE(::kill(*lond_pid, SIGCONT) == 0);
    auto verdict_file = c.run_dir(0) / "lond.reload";
    CHECK(wait_until(10s, [&] {
        std::string v = read_file(verdict_file);
        return v.rfind(std::to_string(*lond_pid) + " ", 0) == 0 && contains(v, " reloaded ");
    }));
    CHECK(loncontrol(c, 0, "reload").code == 0);
    CHECK(loncontrol(c, 0, "stop").code == 0);
}

TEST_CASE("ops: loncontrol restart with a broken config keeps the host running",
          "[integration][ops]") {
    Cluster c(hosts(2));
    PidFileGuard guard;
    auto [lond_pid, lonc_pid] = start_host0(c, guard);
    std::string good = read_file(c.config(0));

    break_config(c.config(0));
    auto r = loncontrol(c, 0, "restart");
    INFO(r.output);
    CHECK(r.code != 0);
    CHECK(contains(r.output, "bogus_key"));
    CHECK(contains(r.output, "not restarted"));
    CHECK(alive(*lond_pid));
    CHECK(alive(*lonc_pid));
    CHECK(read_pid_file(c.run_dir(0) / "lond.pid") == lond_pid);
    CHECK(read_pid_file(c.run_dir(0) / "lonc.pid") == lonc_pid);

    std::ofstream(c.config(0), std::ios::trunc) << good;

    // The config loads but the certificates would stop the start (lond --check says so).
    auto certs = c.dir(0) / "certs";
    std::filesystem::create_directories(certs);
    for (const char* f : {"lonhostkey.pem", "lonhostcert.pem", "loncapaCA.pem"}) {
        std::ofstream(certs / f) << "not a pem\n";
    }
    std::filesystem::permissions(certs / "lonhostkey.pem", std::filesystem::perms(0644));
    auto bad_certs = loncontrol(c, 0, "restart");
    INFO(bad_certs.output);
    CHECK(bad_certs.code != 0);
    CHECK(contains(bad_certs.output, "lonhostkey.pem"));
    CHECK(contains(bad_certs.output, "not restarted"));
    CHECK(read_pid_file(c.run_dir(0) / "lond.pid") == lond_pid);
    CHECK(read_pid_file(c.run_dir(0) / "lonc.pid") == lonc_pid);
    CHECK(alive(*lond_pid));
    for (const char* f : {"lonhostkey.pem", "lonhostcert.pem", "loncapaCA.pem"}) {
        std::filesystem::remove(certs / f);
    }

    auto again = loncontrol(c, 0, "restart");
    INFO(again.output);
    CHECK(again.code == 0);
    auto new_lond = read_pid_file(c.run_dir(0) / "lond.pid");
    REQUIRE(new_lond);
    CHECK(*new_lond != *lond_pid);
    CHECK(loncontrol(c, 0, "stop").code == 0);
}

TEST_CASE("ops: loncontrol status lists every configured peer before any request, under headers",
          "[integration][ops]") {
    Cluster c(hosts(3));
    PidFileGuard guard;
    guard.add_host(c, 0);
    REQUIRE(loncontrol(c, 0, "start").code == 0);
    auto status = loncontrol(c, 0, "status");
    INFO(status.output);
    CHECK(status.code == 0);
    // No request yet: no lonc child, but each peer is listed with its state.
    CHECK(has_line_with(status.output, {"out ", c.id(1) + " ", "idle"}));
    CHECK(has_line_with(status.output, {"out ", c.id(2) + " ", "idle"}));
    CHECK_FALSE(has_line_with(status.output, {" " + c.id(0) + " "})); // not ourselves
    // Every column has a header, the last one too.
    CHECK(has_line_with(status.output, {"DIR", "PEER", "STATE", "MODE", "CONNS", "RETRIES",
                                        "PINNED", "CERT_DAYS", "SPOOL", "REQUESTS", "PID",
                                        "LAST_ERROR"}));
    CHECK(loncontrol(c, 0, "stop").code == 0);
}

TEST_CASE("ops: loncontrol --help ends with its exit status, and needs its lib/ folder",
          "[integration][ops]") {
    auto help = run({"/bin/bash", (scripts_dir() / "loncontrol").string(), "--help"});
    INFO(help.output);
    CHECK(help.code == 0);
    std::string out = help.out;
    while (!out.empty() && out.back() == '\n') {
        out.pop_back();
    }
    auto last = out.substr(out.rfind('\n') + 1);
    CHECK(last.rfind("Exit status:", 0) == 0);
    CHECK_FALSE(contains(help.out, "set -e"));

    // Copied without lib/: a sentence saying what to install, not a bash error.
    TempDir tmp;
    std::filesystem::copy_file(scripts_dir() / "loncontrol", tmp.path() / "loncontrol");
    auto r = run({"/bin/bash", (tmp.path() / "loncontrol").string(), "status"});
    INFO(r.output);
    CHECK(r.code != 0);
    CHECK(contains(r.err, "lib/lonconfig.sh"));
    CHECK(contains(r.err, "whole scripts/ folder"));
}

TEST_CASE("ops: start-up errors through loncontrol name the program once", "[integration][ops]") {
    Cluster c(hosts(2));
    PidFileGuard guard;
    guard.add_host(c, 0);
    // The config loads; the daemon stops at its certificates (a key readable by others).
    auto certs = c.dir(0) / "certs";
    std::filesystem::create_directories(certs);
    for (const char* f : {"lonhostkey.pem", "lonhostcert.pem", "loncapaCA.pem"}) {
        std::ofstream(certs / f) << "not a pem\n";
    }
    std::filesystem::permissions(certs / "lonhostkey.pem", std::filesystem::perms(0644));
    auto r = loncontrol(c, 0, "start");
    INFO(r.output);
    CHECK(r.code != 0);
    CHECK(has_line_with(r.output, {"lond: ", "lonhostkey.pem"}));
    CHECK_FALSE(contains(r.output, "lond: lond:"));
}

TEST_CASE("ops: lonreply without a running lonc says so and prints no reply", "[integration][ops]") {
    Cluster c(hosts(2));
    // No socket at all: lonc never ran.
    auto r = c.lonreply(0, 1, "ping");
    INFO(r.output);
    CHECK(r.code != 0);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "lonc is not running"));
    CHECK(contains(r.err, "loncontrol start"));

    // A socket left behind by a lonc that was killed: nobody accepts on it.
    std::filesystem::create_directories(c.socket(0, 1).parent_path());
    {
        lon::UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::string p = c.socket(0, 1).string();
        REQUIRE(p.size() < sizeof a.sun_path);
        std::copy(p.begin(), p.end(), a.sun_path);
        REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    auto stale = c.lonreply(0, 1, "ping");
    INFO(stale.output);
    CHECK(stale.code != 0);
    CHECK(stale.out.empty());
    CHECK(contains(stale.err, "lonc is not running"));
}

TEST_CASE("ops: with no --config the error says how to name another file", "[integration][ops]") {
    if (std::filesystem::exists("/etc/lonlink/lonlink.yaml")) {
        WARN("skipped: /etc/lonlink/lonlink.yaml exists on this machine");
        return;
    }
    for (const auto& bin : {lond_bin(), lonc_bin(), lonreply_bin()}) {
        INFO(bin.filename().string());
        std::vector<std::string> argv{"/usr/bin/env", "-u", "LONLINK_CONFIG", bin.string()};
        if (bin == lonreply_bin()) {
            argv.insert(argv.end(), {"msul2", "ping"});
        } else {
            argv.emplace_back("--foreground");
        }
        auto r = run(argv, 10s);
        INFO(r.output);
        CHECK(r.code == 2);
        CHECK(contains(r.err, "/etc/lonlink/lonlink.yaml"));
        CHECK(contains(r.err, "--config FILE"));
        CHECK(contains(r.err, "LONLINK_CONFIG"));
    }
}

TEST_CASE("ops: a pinned peer without a local certificate is logged as pinned, with the way out",
          "[integration][ops]") {
    Cluster c(hosts(2));
    auto pinned = c.dir(0) / "state" / "pinned";
    std::filesystem::create_directories(pinned);
    std::ofstream(pinned / c.id(1)) << "peer " << c.id(1) << " negotiated ssl\n";
    c.start_lond(1);
    c.start_lonc(0);
    CHECK(c.request(0, 1, "ping") == "con_lost");
    auto log = c.log_file(0, "lonc");
    CHECK(wait_until(5s, [&] {
        return file_has_line_with(log, {c.id(1), "pinned", "loncontrol unpin " + c.id(1)});
    }));
    INFO(read_file(log));
    CHECK_FALSE(file_has_line_with(log, {"insecure not allowed"}));
}

TEST_CASE("ops: a lond child of an ssl peer keeps (ssl) in its title when its last link closes",
          "[integration][ops]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    c.issue_certificate(1);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    std::string linked = title::lond_child(c.id(0), 1, "ssl");
    REQUIRE(await_title([&] { return c.lond_child(1, 0); }, linked) == linked);
    pid_t child = c.lond_child(1, 0);
    c.stop_lonc(0);
    std::string idle = title::lond_child(c.id(0), 0, "ssl");
    CHECK(await_title(child, idle) == idle);
    INFO(read_file(c.log_file(1, "lond")));
    CHECK(read_title(child) == idle);
}

TEST_CASE("ops: an IPv6 lond shows [address]:port in its title and log", "[integration][ops][ipv6]") {
    TempDir tmp;
    const auto& d = tmp.path();
    // A port of this run's own (::1 is shared with every other run on this machine).
    unsigned port = 20000 + static_cast<unsigned>(::getpid()) % 20000;
    std::ofstream(d / "hosts.yaml") << "hosts:\n  - { id: six1, address: \"::1\", port: " << port
                                    << " }\n";
    std::ofstream(d / "lonlink.yaml")
        << "host_id: six1\nhosts_file: hosts.yaml\nlisten: { address: \"::1\", port: " << port
        << " }\nsocket_group: null\n";
    Process lond({lond_bin().string(), "--config", (d / "lonlink.yaml").string(), "--foreground"},
                 d / "lond.out");
    std::string expected = "lond: parent six1 listening [::1]:" + std::to_string(port) + " peers: 0";
    CHECK(await_title(lond.pid(), expected) == expected);
    CHECK(wait_until(5s, [&] {
        return file_has_line_with(d / "log" / "lond.log",
                                  {"listening on [::1]:" + std::to_string(port)});
    }));
    INFO(read_file(d / "log" / "lond.log") << read_file(d / "lond.out"));
    lond.stop();
}

TEST_CASE("ops: loncontrol status --json is one JSON document for the whole host",
          "[integration][ops]") {
    Cluster c(hosts(2));
    PidFileGuard guard;
    guard.add_host(c, 0);
    guard.add_host(c, 1);
    REQUIRE(loncontrol(c, 0, "start").code == 0);
    REQUIRE(loncontrol(c, 1, "start").code == 0);
    std::string reply = c.request(0, 1, "ping");
    INFO(read_file(c.log_file(0, "lonc")) << read_file(c.log_file(1, "lond")));
    REQUIRE(reply == c.id(1));
    CHECK(wait_until(5s, [&] {
        return std::filesystem::exists(c.run_dir(0) / ("lonc." + c.id(1) + ".json"));
    }));
    auto r = loncontrol(c.config(0), {"status", "--json"});
    INFO(r.output);
    CHECK(r.code == 0);
    auto doc = parse_json_object(r.out);
    REQUIRE(doc);
    CHECK((*doc)["host"] == "\"" + c.id(0) + "\"");
    auto daemons = parse_json_object((*doc)["daemons"]);
    REQUIRE(daemons);
    CHECK(contains((*daemons)["lond"], "\"running\":true"));
    CHECK(contains((*daemons)["lonc"], "\"running\":true"));
    auto lonc_parent = parse_json_object((*doc)["lonc_parent"]);
    REQUIRE(lonc_parent);
    CHECK(contains((*lonc_parent)["peers"], "\"peer\":\"" + c.id(1) + "\""));
    CHECK(contains((*doc)["links"], "\"file\":\"lonc." + c.id(1) + ".json\",\"alive\":true"));
    CHECK(contains((*doc)["links"], "\"state\":\"linked\""));
    CHECK(loncontrol(c, 0, "stop").code == 0);
    CHECK(loncontrol(c, 1, "stop").code == 0);
}

TEST_CASE("ops: loncontrol status --watch redraws the table in place", "[integration][ops]") {
    Cluster c(hosts(2));
    PidFileGuard guard;
    guard.add_host(c, 0);
    REQUIRE(loncontrol(c, 0, "start").code == 0);
    std::string bin_dir = lond_bin().parent_path().parent_path().string();
    // Long enough for two frames on a loaded machine (each runs lond --print a few times).
    auto r = run({"/usr/bin/timeout", "-s", "INT", "10", "/usr/bin/env", "LONLINK_BIN_DIR=" + bin_dir,
                  "/bin/bash", (scripts_dir() / "loncontrol").string(), "status", "--watch",
                  "--interval", "1", "--config", c.config(0).string()},
                 20s);
    INFO(r.output);
    std::size_t frames = 0;
    for (auto at = r.out.find("\033[H"); at != std::string::npos; at = r.out.find("\033[H", at + 1)) {
        ++frames;
    }
    CHECK(frames >= 2);
    CHECK(contains(r.out, "LAST_ERROR"));
    CHECK(contains(r.out, c.id(1)));
    CHECK(loncontrol(c, 0, "stop").code == 0);
}

TEST_CASE("ops: loncontrol check explains each problem with its fix", "[integration][ops]") {
    Cluster c(hosts(2));
    c.start_lond(0);
    // The peer's lond is not running: its port is named, with what to do.
    auto down = loncontrol(c, 0, "check");
    INFO(down.output);
    CHECK(down.code != 0);
    CHECK(has_line_with(down.output, {"PROBLEM", c.id(1), c.address(1) + ":5663"}));
    CHECK(contains(down.output, "fix: start lond there"));

    c.start_lond(1);
    auto up = loncontrol(c, 0, "check");
    INFO(up.output);
    CHECK(up.code == 0);
    CHECK(has_line_with(up.output, {"ok", c.id(1), "accepts connections"}));
    CHECK_FALSE(contains(up.output, "PROBLEM"));

    // Certificates the daemons would refuse: each problem and its fix.
    auto certs = c.dir(0) / "certs";
    std::filesystem::create_directories(certs);
    for (const char* f : {"lonhostkey.pem", "lonhostcert.pem", "loncapaCA.pem"}) {
        std::ofstream(certs / f) << "not a pem\n";
    }
    std::filesystem::permissions(certs / "lonhostkey.pem", std::filesystem::perms(0644));
    auto bad = loncontrol(c, 0, "check");
    INFO(bad.output);
    CHECK(bad.code != 0);
    CHECK(has_line_with(bad.output, {"PROBLEM", "lond would not start"}));
    CHECK(has_line_with(bad.output, {"PROBLEM", "lonhostkey.pem", "mode 644"}));
    CHECK(contains(bad.output, "fix: chmod 600"));
}
