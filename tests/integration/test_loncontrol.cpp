// scripts/loncontrol drives daemonized lond and lonc for one config.

#include <csignal>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

RunResult loncontrol(const Cluster& c, int i, const std::string& command) {
    // The binaries under test (build/daemons/lond/lond, …), not whatever is on PATH.
    std::string bin_dir = lond_bin().parent_path().parent_path().string();
    return run({"/usr/bin/env", "LONLINK_BIN_DIR=" + bin_dir, "/bin/bash",
                (scripts_dir() / "loncontrol").string(), command, "--config", c.config(i).string()},
               30s);
}

/// Stops whatever a failed test left running from the pid files (by pid, never by name).
struct PidFileGuard {
    std::vector<std::filesystem::path> files;
    ~PidFileGuard() {
        for (const auto& f : files) {
            if (auto pid = read_pid_file(f); pid && alive(*pid)) {
                auto kids = descendants_of(*pid);
                ::kill(*pid, SIGKILL);
                for (pid_t k : kids) {
                    ::kill(k, SIGKILL);
                }
            }
        }
    }
};

} // namespace

TEST_CASE("loncontrol: start, status, stop leaves no process and no pid file", "[integration]") {
    Cluster c(hosts(2));
    PidFileGuard guard;
    for (int i = 0; i < 2; ++i) {
        guard.files.push_back(c.run_dir(i) / "lonc.pid");
        guard.files.push_back(c.run_dir(i) / "lond.pid");
    }
    for (int i = 0; i < 2; ++i) {
        auto r = loncontrol(c, i, "start");
        INFO(r.output);
        REQUIRE(r.code == 0);
    }
    auto lond_pid = read_pid_file(c.run_dir(0) / "lond.pid");
    auto lonc_pid = read_pid_file(c.run_dir(0) / "lonc.pid");
    REQUIRE(lond_pid);
    REQUIRE(lonc_pid);
    CHECK(alive(*lond_pid));
    CHECK(alive(*lonc_pid));
    // Daemonized: detached into sessions of their own (the harness is their subreaper, so
    // being re-parented to it says nothing).
    CHECK(::getsid(*lond_pid) != ::getsid(0));
    CHECK(::getsid(*lonc_pid) != ::getsid(0));
    CHECK(read_title(*lonc_pid) == title::lonc_parent(c.id(0), 0));
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(c.request(1, 0, "ping") == c.id(0));

    auto status = loncontrol(c, 0, "status");
    INFO(status.output);
    CHECK(status.code == 0);
    CHECK(status.output.find("running") != std::string::npos);
    CHECK(status.output.find(c.id(1)) != std::string::npos);

    // Starting again does not start twice.
    auto again = loncontrol(c, 0, "start");
    CHECK(again.code == 0);
    CHECK(read_pid_file(c.run_dir(0) / "lonc.pid") == lonc_pid);
    CHECK(read_pid_file(c.run_dir(0) / "lond.pid") == lond_pid);

    std::vector<pid_t> all{*lond_pid, *lonc_pid};
    for (pid_t p : {*lond_pid, *lonc_pid}) {
        for (pid_t k : descendants_of(p)) {
            all.push_back(k);
        }
    }
    CHECK(all.size() >= 4); // parents plus at least one lonc and one lond child
    for (int i = 0; i < 2; ++i) {
        auto r = loncontrol(c, i, "stop");
        INFO(r.output);
        CHECK(r.code == 0);
    }
    for (pid_t p : all) {
        INFO("pid " << p);
        CHECK(wait_until(2s, [&] { return !alive(p); }));
    }
    for (int i = 0; i < 2; ++i) {
        INFO(c.id(i));
        CHECK_FALSE(std::filesystem::exists(c.run_dir(i) / "lond.pid"));
        CHECK_FALSE(std::filesystem::exists(c.run_dir(i) / "lonc.pid"));
        CHECK_FALSE(std::filesystem::exists(c.socket(i, 1 - i)));
    }
    auto stopped = loncontrol(c, 0, "status");
    CHECK(stopped.code != 0);
}
