// A request costs each child one recv per socket it arrives on (daemons/link/drained_read.hpp).
// Asio starts every read with a speculative recv, which on a request/reply link finds nothing
// after each request: before, a ping-pong of N requests cost the two children 6 N recvfrom
// calls (3 N of them EAGAIN); now 3 N (lonc: the local request and the reply; lond: the
// request). Counted with strace -c attached to both children; skipped without strace.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "harness.hpp"

using namespace it;

namespace {

struct Calls {
    long calls = -1;
    long errors = 0;
};

/// The "calls" and "errors" columns of `syscall`'s row in an strace -c summary.
Calls summary_row(const std::string& summary, const std::string& syscall) {
    std::istringstream in(summary);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string w; fields >> w;) {
            f.push_back(w);
        }
        // % time, seconds, usecs/call, calls, [errors,] syscall
        if (f.size() >= 5 && f.back() == syscall) {
            Calls c;
            c.calls = std::stol(f[3]);
            c.errors = f.size() >= 6 ? std::stol(f[4]) : 0;
            return c;
        }
    }
    return {};
}

} // namespace

TEST_CASE("read_syscalls: a request costs each child one recv per socket it arrives on, not "
          "a second that finds nothing", "[integration][read-syscalls]") {
    std::string strace;
    for (const char* dir : {"/usr/bin", "/bin", "/usr/local/bin"}) {
        if (std::filesystem::exists(std::string(dir) + "/strace")) {
            strace = std::string(dir) + "/strace";
            break;
        }
    }
    if (strace.empty() || std::system((strace + " -o /dev/null true >/dev/null 2>&1").c_str()) != 0) {
        WARN("strace missing or ptrace not allowed here: not measured");
        return;
    }
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t lonc_child = c.lonc_child(0, 1);
    pid_t lond_child = c.lond_child(1, 0);
    REQUIRE(lonc_child > 0);
    REQUIRE(lond_child > 0);
    UnixClient u(c.socket(0, 1));
    REQUIRE(u.connected());
    for (int i = 0; i < 20; ++i) {
        REQUIRE(u.request("echo:warm") == "warm");
    }
    auto summary = c.root() / "strace.summary";
    auto log = c.root() / "strace.log";
    Process tracer({strace, "-c", "-e", "trace=recvfrom,recvmsg,read", "-o", summary.string(),
                    "-p", std::to_string(lonc_child), "-p", std::to_string(lond_child)},
                   log);
    REQUIRE(wait_until(10s, [&] {
        std::string l = read_file(log);
        std::size_t n = 0;
        for (auto at = l.find("attached"); at != std::string::npos; at = l.find("attached", at + 1)) {
            ++n;
        }
        return n >= 2;
    }));
    constexpr int requests = 200;
    for (int i = 0; i < requests; ++i) {
        REQUIRE(u.request("echo:" + std::to_string(i)) == std::to_string(i));
    }
    REQUIRE(tracer.terminate(10s).has_value()); // strace writes its summary as it detaches
    std::string text = read_file(summary);
    INFO(text);
    Calls recv = summary_row(text, "recvfrom");
    REQUIRE(recv.calls >= 0);
    // 3 per request (+ a little for keepalives); before: 6, half of them EAGAIN.
    CHECK(recv.calls <= requests * 4);
    CHECK(recv.errors <= requests / 4);
}
