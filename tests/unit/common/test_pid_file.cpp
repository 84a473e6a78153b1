#include <catch2/catch.hpp>

#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

#include "pid_file.hpp"
#include "temp_dir.hpp"

TEST_CASE("PidFile: exclusive while alive, removed by its owner", "[common]") {
    TempDir dir;
    auto path = dir.path() / "lond.pid";
    {
        lon::PidFile pid(path);
        CHECK(lon::read_pid_file(path) == std::optional<pid_t>(::getpid()));
        CHECK_THROWS_WITH(lon::PidFile(path), Catch::Contains("already running"));
    }
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("PidFile: a stale file of a dead process is replaced", "[common]") {
    TempDir dir;
    auto path = dir.path() / "lonc.pid";
    pid_t child = ::fork();
    if (child == 0) {
        ::_exit(0);
    }
    REQUIRE(child > 0);
    int status = 0;
    ::waitpid(child, &status, 0);
    std::ofstream(path) << child << "\n"; // that pid is gone now
    lon::PidFile pid(path);
    CHECK(lon::read_pid_file(path) == std::optional<pid_t>(::getpid()));
}

TEST_CASE("write_file_atomic replaces the whole file", "[common]") {
    TempDir dir;
    auto path = dir.path() / "status.json";
    REQUIRE(lon::write_file_atomic(path, "first version, rather long\n"));
    REQUIRE(lon::write_file_atomic(path, "second\n"));
    std::ifstream in(path);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(all == "second\n");
    CHECK_FALSE(lon::write_file_atomic(dir.path() / "no" / "such" / "dir", "x"));
}
