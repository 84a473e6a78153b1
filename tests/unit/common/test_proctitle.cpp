#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>

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
