#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "file_write.hpp"
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

TEST_CASE("PidFile: a forked child's copy never removes the parent's file", "[common]") {
    TempDir dir;
    auto path = dir.path() / "lond.pid";
    lon::PidFile pid(path);
    pid_t child = ::fork();
    if (child == 0) {
        {
            lon::PidFile moved(std::move(pid)); // destroyed here, in the child
        }
        ::_exit(std::filesystem::exists(path) ? 0 : 1);
    }
    REQUIRE(child > 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(lon::read_pid_file(path) == std::optional<pid_t>(::getpid()));
}

TEST_CASE("PidFile: a moved-from owner leaves removal to the new owner", "[common]") {
    TempDir dir;
    auto path = dir.path() / "lonc.pid";
    auto first = std::make_unique<lon::PidFile>(path);
    lon::PidFile second(std::move(*first));
    first.reset();
    CHECK(std::filesystem::exists(path)); // the moved-from object did not unlink it
    CHECK(second.path() == path);
}

TEST_CASE("PidFile: unparseable or empty stale files are replaced", "[common]") {
    TempDir dir;
    for (const char* junk : {"", "not a pid\n", "-5\n", "0\n"}) {
        INFO('"' << junk << '"');
        auto path = dir.write("x.pid", junk);
        CHECK_FALSE(lon::read_pid_file(path));
        {
            lon::PidFile pid(path);
            CHECK(lon::read_pid_file(path) == std::optional<pid_t>(::getpid()));
        }
        CHECK_FALSE(std::filesystem::exists(path));
    }
    CHECK_FALSE(lon::read_pid_file(dir.path() / "absent.pid"));
    CHECK_THROWS_AS(lon::PidFile(dir.path() / "no" / "dir" / "x.pid"), std::runtime_error);
}

TEST_CASE("PidFile: rewrite records the current pid", "[common]") {
    TempDir dir;
    auto path = dir.path() / "lond.pid";
    lon::PidFile pid(path);
    {
        std::ofstream(path) << "999999999\n"; // as if another pid had been written
    }
    pid.rewrite();
    CHECK(lon::read_pid_file(path) == std::optional<pid_t>(::getpid()));
    std::ifstream in(path);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(all == std::to_string(::getpid()) + "\n"); // no tail left from the longer content
}

TEST_CASE("write_file_atomic leaves no temporary file behind", "[common]") {
    TempDir dir;
    REQUIRE(lon::write_file_atomic(dir.path() / "status", std::string(100'000, 's')));
    REQUIRE(lon::write_file_atomic(dir.path() / "empty", ""));
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"empty", "status"});
    CHECK(std::filesystem::file_size(dir.path() / "status") == 100'000);
    CHECK(std::filesystem::file_size(dir.path() / "empty") == 0);
}

TEST_CASE("PidFile: a file naming an unrelated live process does not block a start",
          "[common]") {
    // After a reboot the pid written by the last run may belong to anything; only a held
    // lock means a daemon is running.
    TempDir dir;
    auto path = dir.path() / "lonc.pid";
    std::ofstream(path) << ::getppid() << "\n"; // alive, and not a lonc
    lon::PidFile pid(path);
    CHECK(lon::read_pid_file(path) == std::optional<pid_t>(::getpid()));
}

TEST_CASE("PidFile: a held file blocks whatever pid it names, and the message names it",
          "[common]") {
    TempDir dir;
    auto path = dir.path() / "lond.pid";
    lon::PidFile held(path);
    std::ofstream(path) << 999999999 << "\n"; // no such pid: the lock still counts
    CHECK_THROWS_WITH(lon::PidFile(path), Catch::Contains("already running") &&
                                              Catch::Contains(path.string()));
}

TEST_CASE("PidFile: the lock is not inherited across exec", "[common]") {
    TempDir dir;
    auto path = dir.path() / "lonc.pid";
    std::optional<lon::PidFile> held(std::in_place, path);
    // A child that execs (as every daemon child does) keeps nothing of it: once we let go,
    // a new start succeeds while that child still runs.
    pid_t child = ::fork();
    if (child == 0) {
        ::execl("/bin/sleep", "sleep", "5", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    REQUIRE(child > 0);
    held.reset();
    CHECK_NOTHROW(lon::PidFile(path));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
}
