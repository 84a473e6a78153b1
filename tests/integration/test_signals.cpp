// Signals (README "Signals"): INT stops as cleanly as TERM; USR1 makes both daemons write
// their status; HUP with a changed (valid) config takes effect in running children.

#include <csignal>
#include <fstream>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

TEST_CASE("INT stops parents and children and removes pid files and sockets, like TERM",
          "[integration][signals]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t lonc_child = c.lonc_child(0, 1);
    pid_t lond_child = c.lond_child(1, 0);
    REQUIRE(lonc_child > 0);
    REQUIRE(lond_child > 0);
    const pid_t lonc = c.lonc_pid(0);
    const pid_t lond = c.lond_pid(1);
    REQUIRE(::kill(lonc, SIGINT) == 0);
    REQUIRE(::kill(lond, SIGINT) == 0);
    CHECK(wait_until(10s, [&] {
        return !alive(lonc) && !alive(lond) && !alive(lonc_child) && !alive(lond_child);
    }));
    CHECK_FALSE(std::filesystem::exists(c.run_dir(0) / "lonc.pid"));
    CHECK_FALSE(std::filesystem::exists(c.run_dir(1) / "lond.pid"));
    CHECK_FALSE(std::filesystem::exists(c.socket(0, 1)));
}

TEST_CASE("USR1 makes both daemons, parents and children, write their status files",
          "[integration][signals]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    const std::filesystem::path files[] = {
        c.run_dir(1) / "lond.json",                        // lond parent
        c.run_dir(1) / ("lond." + c.id(0) + ".json"),      // lond child
        c.run_dir(0) / ("lonc." + c.id(1) + ".json"),      // lonc child
    };
    for (const auto& f : files) {
        INFO(f);
        REQUIRE(wait_until(5s, [&] { return std::filesystem::exists(f); }));
        std::filesystem::remove(f);
    }
    REQUIRE(::kill(c.lond_pid(1), SIGUSR1) == 0);
    REQUIRE(::kill(c.lonc_pid(0), SIGUSR1) == 0);
    for (const auto& f : files) {
        INFO(f);
        CHECK(wait_until(5s, [&] { return std::filesystem::exists(f); }));
    }
}

TEST_CASE("HUP with a changed config: running lond children serve by the new one",
          "[integration][signals][reload]") {
    Cluster c(hosts(2));
    std::ofstream(c.config(1), std::ios::app) << "lond: { insecure_commands: [ping, echo] }\n";
    c.start_all();
    REQUIRE(c.request(0, 1, "echo:before") == "before");
    pid_t child = c.lond_child(1, 0);
    REQUIRE(child > 0);

    c.edit_config(1, "insecure_commands: [ping, echo]", "insecure_commands: [ping]");
    c.reload(1);
    // The same child, over the same link, now refuses what the new config does not allow.
    CHECK(wait_until(10s, [&] { return c.request(0, 1, "echo:after") == "refused:requires_ssl"; }));
    CHECK(c.lond_child(1, 0) == child);
    CHECK(c.request(0, 1, "ping") == c.id(1));
}

// LON-CAPA admins send USR2 to reload the host table; lonc used to have no handler for it, so
// USR2 killed the lonc parent (default action) and, through PDEATHSIG, every link of the host.
TEST_CASE("USR2 to lonc reloads like HUP (parent) and is harmless to a child",
          "[integration][signals][reload]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    const pid_t parent = c.lonc_pid(0);
    const pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    const auto verdict = c.run_dir(0) / "lonc.reload";
    std::filesystem::remove(verdict);

    REQUIRE(::kill(parent, SIGUSR2) == 0);
    CHECK(wait_until(10s, [&] {
        return read_file(verdict).find(std::to_string(parent) + " 1 reloaded ") == 0;
    }));
    REQUIRE(::kill(child, SIGUSR2) == 0);
    CHECK_FALSE(wait_until(2s, [&] { return !alive(child); }));
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(alive(parent));
    CHECK(c.lonc_child(0, 1) == child);
    CHECK(alive(child));
}

TEST_CASE("USR2 to a lond child is harmless (it only reopens its log)",
          "[integration][signals][reload]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    const pid_t child = c.lond_child(1, 0);
    REQUIRE(child > 0);
    REQUIRE(::kill(child, SIGUSR2) == 0);
    CHECK_FALSE(wait_until(2s, [&] { return !alive(child); }));
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(c.lond_child(1, 0) == child);
}
