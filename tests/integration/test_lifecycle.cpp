// Daemon lifecycle: single instance, clean TERM, a crashed child replaced and reaped, a
// crash loop slowed by the restart backoff.

#include <csignal>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

TEST_CASE("a second lond or lonc on the same config refuses to start", "[integration]") {
    Cluster c(hosts(2));
    c.start_lond(0);
    c.start_lonc(0);
    for (const auto& bin : {lond_bin(), lonc_bin()}) {
        INFO(bin.filename().string());
        auto r = run({bin.string(), "--config", c.config(0).string(), "--foreground"});
        INFO(r.output);
        CHECK(r.code == 3);
        CHECK(!r.err.empty());
    }
    // The first ones are untouched.
    CHECK(read_pid_file(c.run_dir(0) / "lond.pid") == std::optional<pid_t>(c.lond_pid(0)));
    CHECK(read_pid_file(c.run_dir(0) / "lonc.pid") == std::optional<pid_t>(c.lonc_pid(0)));
    CHECK(std::filesystem::exists(c.socket(0, 1)));
}

TEST_CASE("TERM stops parents and children and removes pid files and sockets", "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t lonc_child = c.lonc_child(0, 1);
    pid_t lond_child = c.lond_child(1, 0);
    REQUIRE(lonc_child > 0);
    REQUIRE(lond_child > 0);
    // TERM only: nothing here kills anything, so a child left behind is seen.
    CHECK(c.terminate_lonc(0) == std::optional<int>(0));
    CHECK(c.terminate_lond(1) == std::optional<int>(0));
    CHECK(wait_until(2s, [&] { return !alive(lonc_child) && !alive(lond_child); }));
    CHECK_FALSE(alive(lonc_child));
    CHECK_FALSE(alive(lond_child));
    CHECK_FALSE(std::filesystem::exists(c.run_dir(0) / "lonc.pid"));
    CHECK_FALSE(std::filesystem::exists(c.run_dir(1) / "lond.pid"));
    CHECK_FALSE(std::filesystem::exists(c.socket(0, 1)));
}

TEST_CASE("a lonc child killed abnormally is reaped and replaced on demand", "[integration][reap]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    ::kill(child, SIGKILL);
    REQUIRE(wait_until(5s, [&] { return !alive(child); }));
    // Reaped by its parent: no zombie left (a zombie keeps its /proc entry).
    CHECK(wait_until(5s, [&] { return !std::filesystem::exists("/proc/" + std::to_string(child)); }));
    // The parent restarts it after its backoff (1 s) when a client knocks.
    CHECK(c.request(0, 1, "ping", 10s) == c.id(1));
    CHECK(c.lonc_child(0, 1) != child);
}

TEST_CASE("a lond child killed abnormally is reaped, and the peer's next link gets a new one",
          "[integration][reap]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lond_child(1, 0);
    REQUIRE(child > 0);
    ::kill(child, SIGKILL);
    CHECK(wait_until(5s, [&] { return !std::filesystem::exists("/proc/" + std::to_string(child)); }));
    CHECK(wait_until(15s, [&] { return c.request(0, 1, "ping") == c.id(1); }));
    pid_t next = c.lond_child(1, 0);
    CHECK(next > 0);
    CHECK(next != child);
}

TEST_CASE("a lonc child that keeps dying is restarted with a growing backoff, not in a loop, "
          "and its spool is still delivered once it stays up",
          "[integration][crash_loop]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    c.stop_lond(1);
    // A spooled durable request: the parent restarts the child by itself while it waits.
    REQUIRE(c.request(0, 1, "lonc:critical:echo:kept") == "con_delayed");

    // Kill every child the parent starts, for 12 s.
    std::set<pid_t> killed;
    const auto end = std::chrono::steady_clock::now() + 12s;
    while (std::chrono::steady_clock::now() < end) {
        pid_t child = c.lonc_child(0, 1);
        if (child > 0 && killed.insert(child).second) {
            ::kill(child, SIGKILL);
        }
        std::this_thread::sleep_for(20ms); // polling interval, not a wait for an event
    }
    // Backoff 1 s doubling: starts at about 0, 1, 3, 7 s (and 15 s, after the window); a
    // restart loop would have made dozens.
    INFO(killed.size() << " children killed");
    CHECK(killed.size() >= 3);
    CHECK(killed.size() <= 6);

    // Left alone, a child comes back (after the current backoff) and delivers the spool.
    c.start_lond(1);
    const auto spool = c.dir(0) / "spool" / c.id(1);
    CHECK(wait_until(40s, [&] { return std::filesystem::is_empty(spool); }));
}
