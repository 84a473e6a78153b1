#include <catch2/catch.hpp>

#include "harness.hpp"
#include "pid_file.hpp"

using namespace it;

namespace {

RunResult loncontrol(const Cluster& c, int i, const std::string& command) {
    return run({"/bin/bash", (scripts_dir() / "loncontrol").string(), command, "--config",
                c.config(i).string()},
               30s);
}

} // namespace

TEST_CASE("loncontrol: start, status, stop leaves no process and no pid file",
          "[integration]") {
    Cluster c(hosts(2));
    ::setenv("LONLINK_BIN_DIR", lond_bin().parent_path().parent_path().string().c_str(), 1);
    for (int i = 0; i < 2; ++i) {
        auto r = loncontrol(c, i, "start");
        INFO(r.output);
        REQUIRE(r.code == 0);
    }
    auto lond_pid = lon::read_pid_file(c.run_dir(0) / "lond.pid");
    auto lonc_pid = lon::read_pid_file(c.run_dir(0) / "lonc.pid");
    REQUIRE(lond_pid);
    REQUIRE(lonc_pid);
    CHECK(alive(*lond_pid));
    CHECK(alive(*lonc_pid));
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(c.request(1, 0, "ping") == c.id(0));
    auto status = loncontrol(c, 0, "status");
    CHECK(status.code == 0);
    CHECK(status.output.find("running") != std::string::npos);
    CHECK(status.output.find(c.id(1)) != std::string::npos);
    CHECK(status.output.find("linked") != std::string::npos);

    // Starting again does not start twice.
    auto again = loncontrol(c, 0, "start");
    CHECK(again.code == 0);
    CHECK(lon::read_pid_file(c.run_dir(0) / "lonc.pid") == lonc_pid);

    std::vector<pid_t> all{*lond_pid, *lonc_pid};
    for (pid_t p : {*lond_pid, *lonc_pid}) {
        for (pid_t k : children_of(p)) {
            all.push_back(k);
        }
    }
    REQUIRE(all.size() >= 4); // parents plus at least one lonc and one lond child
    for (int i = 0; i < 2; ++i) {
        auto r = loncontrol(c, i, "stop");
        INFO(r.output);
        CHECK(r.code == 0);
    }
    for (pid_t p : all) {
        INFO(p);
        CHECK(wait_until(2s, [&] { return !alive(p); }));
    }
    CHECK_FALSE(std::filesystem::exists(c.run_dir(0) / "lond.pid"));
    CHECK_FALSE(std::filesystem::exists(c.run_dir(0) / "lonc.pid"));
    CHECK_FALSE(std::filesystem::exists(c.socket(0, 1)));
    auto stopped = loncontrol(c, 0, "status");
    CHECK(stopped.output.find("stopped") != std::string::npos);
}
