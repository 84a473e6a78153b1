#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>

#include "harness.hpp"

using namespace it;

TEST_CASE("a config error exits 2 naming file, line and key", "[integration]") {
    Cluster c(hosts(2));
    std::ofstream(c.config(0), std::ios::app) << "lond:\n  allow_insecure: true\n  colour: red\n";
    for (const auto& bin : {lond_bin(), lonc_bin()}) {
        auto r = run({bin.string(), "--config", c.config(0).string(), "--foreground"});
        INFO(r.output);
        CHECK(r.code == 2);
        CHECK(r.output.find(c.config(0).string() + ":9: lond.colour: unknown key") !=
              std::string::npos);
    }
}

TEST_CASE("a second lond on the same config refuses to start", "[integration]") {
    Cluster c(hosts(2));
    c.start_lond(0);
    auto r = run({lond_bin().string(), "--config", c.config(0).string(), "--foreground"});
    CHECK(r.code == 3);
    CHECK(r.output.find("already running") != std::string::npos);
}

TEST_CASE("an idle lonc child exits and a new client gets a new one", "[integration]") {
    ClusterOptions o = hosts(2);
    o.lonc_yaml = "{ retries: 3, backoff_initial: 100ms, backoff_max: 1s, idle_timeout: 1s }";
    Cluster c(o);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t first = c.lonc_child(0, 1);
    REQUIRE(first > 0);
    CHECK(read_title(c.lonc_pid(0)) == "lonc: parent " + c.id(0) + " links: 1");
    CHECK(wait_until(5s, [&] { return !alive(first); }));
    CHECK(wait_until(2s, [&] { return read_title(c.lonc_pid(0)) == "lonc: parent " + c.id(0) + " links: 0"; }));
    CHECK(c.request(0, 1, "ping") == c.id(1));
    pid_t second = c.lonc_child(0, 1);
    CHECK(second > 0);
    CHECK(second != first);
}

TEST_CASE("TERM stops parents and children and removes pid files and sockets",
          "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t lonc_child = c.lonc_child(0, 1);
    pid_t lond_child = c.lond_child(1, 0);
    REQUIRE(lonc_child > 0);
    REQUIRE(lond_child > 0);
    c.stop_lonc(0);
    c.stop_lond(1);
    CHECK_FALSE(alive(lonc_child));
    CHECK_FALSE(alive(lond_child));
    CHECK_FALSE(std::filesystem::exists(c.run_dir(0) / "lonc.pid"));
    CHECK_FALSE(std::filesystem::exists(c.run_dir(1) / "lond.pid"));
    CHECK_FALSE(std::filesystem::exists(c.socket(0, 1)));
}

TEST_CASE("a lonc child killed abnormally is replaced on demand", "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    ::kill(child, SIGKILL);
    REQUIRE(wait_until(5s, [&] { return !alive(child); }));
    // The parent restarts it after its backoff (1 s) when a client knocks.
    CHECK(c.request(0, 1, "ping", 10s) == c.id(1));
    CHECK(c.lonc_child(0, 1) != child);
}
