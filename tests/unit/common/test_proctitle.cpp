#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "proctitle.hpp"

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace

// Runs in a forked child, so the test binary's own argv stays untouched; the child rewrites
// its title and the parent reads the child's /proc/<pid>/cmdline and comm, as ps does.
TEST_CASE("proctitle: the title replaces the command line in /proc", "[common]") {
    int ready[2];
    int done[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(done) == 0);
    pid_t child = ::fork();
    if (child == 0) {
        // A real argv area: argv strings contiguous in one buffer, as the kernel lays them out.
        static char area[] = "/usr/bin/lonc\0--config\0/etc/lonlink/lonlink.yaml\0--foreground";
        char* argv[] = {area, area + 14, area + 23, area + 50, nullptr};
        lon::proctitle::save_args(4, argv);
        lon::proctitle::set("lonc: msul2 Connecting Retries remaining: 5");
        lon::proctitle::set_comm("lonctest");
        bool ok = std::strcmp(argv[1], "--config") == 0 && // argv still readable (copied)
                  std::strncmp(area, "lonc: msul2 Connecting", 22) == 0;
        char c = ok ? 'y' : 'n';
        if (::write(ready[1], &c, 1) != 1 || ::read(done[0], &c, 1) != 1) {
            ::_exit(1);
        }
        ::_exit(0);
    }
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    CHECK(c == 'y');
    CHECK(read_file("/proc/" + std::to_string(child) + "/comm") == "lonctest\n");
    CHECK(::write(done[1], "x", 1) == 1);
    int status = 0;
    ::waitpid(child, &status, 0);
    for (int fd : {ready[0], ready[1], done[0], done[1]}) {
        ::close(fd);
    }
}

namespace {

/// Waits for one byte on `fd`; false on EOF or error.
bool wait_byte(int fd) {
    char c = 0;
    return ::read(fd, &c, 1) == 1;
}

} // namespace

// The real thing: a forked child rewrites the argv area the kernel gave this test binary,
// and /proc/<pid>/cmdline (what ps reads) must show only the title, followed only by NULs.
TEST_CASE("proctitle: the real argv area shows the title, environ stays readable", "[common]") {
    std::string own = read_file("/proc/self/cmdline");
    REQUIRE_FALSE(own.empty());
    int argc = static_cast<int>(std::count(own.begin(), own.end(), '\0'));
    const std::string title = "lonc: msul2 Connection count: 1 Retries remaining: 5 (ssl)";
    const std::string long_title(100'000, 'L');
    int to_parent[2];
    int to_child[2];
    REQUIRE(::pipe(to_parent) == 0);
    REQUIRE(::pipe(to_child) == 0);
    pid_t child = ::fork();
    if (child == 0) {
        // glibc keeps argv[0] of the original (kernel-made) area here; the other argv strings
        // follow it contiguously.
        std::vector<char*> argv;
        char* p = program_invocation_name;
        for (int i = 0; i < argc; ++i) {
            argv.push_back(p);
            p += std::strlen(p) + 1;
        }
        argv.push_back(nullptr);
        std::string second = argc > 1 ? argv[1] : "";
        const char* path_before = std::getenv("PATH");
        std::string path = path_before != nullptr ? path_before : "";
        lon::proctitle::save_args(argc, argv.data());
        lon::proctitle::set(title);
        const char* path_after = std::getenv("PATH");
        bool ok = (argc < 2 || second == argv[1]) &&
                  path == (path_after != nullptr ? path_after : "");
        char c = ok ? 'y' : 'n';
        if (::write(to_parent[1], &c, 1) != 1 || !wait_byte(to_child[0])) {
            ::_exit(1);
        }
        lon::proctitle::set(long_title); // truncated to the area, never past it
        if (::write(to_parent[1], &c, 1) != 1 || !wait_byte(to_child[0])) {
            ::_exit(1);
        }
        ::_exit(0);
    }
    REQUIRE(child > 0);
    std::string proc = "/proc/" + std::to_string(child) + "/cmdline";
    char c = 0;
    REQUIRE(::read(to_parent[0], &c, 1) == 1);
    CHECK(c == 'y');
    std::string shown = read_file(proc);
    CHECK(shown.substr(0, title.size()) == title);
    CHECK(shown.size() > title.size());
    CHECK(shown.find_first_not_of('\0', title.size()) == std::string::npos);
    REQUIRE(::write(to_child[1], "x", 1) == 1);

    REQUIRE(::read(to_parent[0], &c, 1) == 1);
    shown = read_file(proc);
    auto text_end = shown.find('\0');
    CHECK(text_end != std::string::npos);
    CHECK(text_end >= own.size() - 1); // at least the whole argv area is used
    CHECK(text_end < long_title.size());
    CHECK(shown.substr(0, text_end) == long_title.substr(0, text_end));
    CHECK(shown.find_first_not_of('\0', text_end) == std::string::npos);
    REQUIRE(::write(to_child[1], "x", 1) == 1);

    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) {
        ::close(fd);
    }
}
