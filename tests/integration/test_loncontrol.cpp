// scripts/loncontrol drives daemonized lond and lonc for one config.

#include <csignal>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "loncontrol_run.hpp"

using namespace it;

TEST_CASE("loncontrol: start, status, stop leaves no process and no pid file", "[integration]") {
    Cluster c(hosts(2));
    PidFileGuard guard;
    guard.add_host(c, 0);
    guard.add_host(c, 1);
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

TEST_CASE("LONLINK_CONFIG names the config for lond, lonc, lonreply and loncontrol",
          "[integration][lonlink_config]") {
    Cluster c(hosts(2));
    c.start_lond(1);
    c.start_lonc(1);
    // Host 0 with no --config anywhere: only the variable says where its config is.
    const std::string env = "LONLINK_CONFIG=" + c.config(0).string();
    Process lond({"/usr/bin/env", env, lond_bin().string(), "--foreground"},
                 c.output_file(0, "lond"));
    Process lonc({"/usr/bin/env", env, lonc_bin().string(), "--foreground"},
                 c.output_file(0, "lonc"));
    // Ready as the harness judges it: the parent title is set once the sockets are bound.
    for (const Process* p : {&lond, &lonc}) {
        pid_t pid = p->pid();
        auto t = await_title_if([pid] { return pid; }, [](const std::string& s) {
            return s.rfind("lond: parent ", 0) == 0 || s.rfind("lonc: parent ", 0) == 0;
        });
        INFO(read_file(c.output_file(0, p == &lond ? "lond" : "lonc")));
        REQUIRE(t.find(": parent ") != std::string::npos);
    }

    auto reply = run({"/usr/bin/env", env, lonreply_bin().string(), c.id(1), "ping"});
    INFO(reply.output);
    CHECK(reply.code == 0);
    CHECK(reply.out == c.id(1) + "\n");
    // And the way back, to the host that was started from the variable.
    CHECK(c.request(1, 0, "ping") == c.id(0));

    std::string bin_dir = lond_bin().parent_path().parent_path().string();
    auto status = run({"/usr/bin/env", env, "LONLINK_BIN_DIR=" + bin_dir, "/bin/bash",
                       (scripts_dir() / "loncontrol").string(), "status"});
    INFO(status.output);
    CHECK(status.code == 0);
    CHECK(status.output.find(std::to_string(lonc.pid())) != std::string::npos);
    CHECK(status.output.find(c.id(1)) != std::string::npos);
}
