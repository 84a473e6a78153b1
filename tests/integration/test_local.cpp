#include <catch2/catch.hpp>

#include <fstream>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "harness.hpp"

using namespace it;

TEST_CASE("local socket: too long, lonc:status, unknown lonc command", "[integration]") {
    ClusterOptions o = hosts(2);
    o.limits_yaml = "{ handshake_timeout: 2s, max_message_bytes: 1KiB }";
    Cluster c(o);
    c.start_all();
    struct stat st {};
    REQUIRE(::stat(c.socket(0, 1).c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0660);

    UnixClient u(c.socket(0, 1));
    REQUIRE(u.connected());
    u.send("ping\n");
    REQUIRE(u.read_line() == std::optional<std::string>(c.id(1))); // linked now
    u.send("ping\necho:" + std::string(2000, 'z') + "\necho:after\nlonc:status\nlonc:nonsense\n");
    CHECK(u.read_line() == std::optional<std::string>(c.id(1)));
    CHECK(u.read_line() == std::optional<std::string>("error:too_long"));
    CHECK(u.read_line() == std::optional<std::string>("after"));
    auto status = u.read_line();
    REQUIRE(status);
    CHECK(status->front() == '{');
    CHECK(status->back() == '}');
    for (const char* key : {"\"role\":\"lonc\"", "\"state\":\"linked\"", "\"connections\":1",
                            "\"retries_remaining\":3", "\"mode\":\"insecure\"", "\"queued\":",
                            "\"in_flight\":", "\"next_probe_s\":null", "\"updated\":", "\"pid\":"}) {
        INFO(key);
        CHECK(status->find(key) != std::string::npos);
    }
    CHECK(status->find("\"peer\":\"" + c.id(1) + "\"") != std::string::npos);
    CHECK(u.read_line() == std::optional<std::string>("error:unknown_lonc_command"));
    auto file = read_file(c.run_dir(0) / ("lonc." + c.id(1) + ".json"));
    CHECK(file.find("\"peer\":\"" + c.id(1) + "\"") != std::string::npos);
}

TEST_CASE("a request timed out by lonc answers con_lost; the late reply is never delivered",
          "[integration]") {
    // The peer's handler never answers, so lonc's request_timeout (1 s) must.
    ClusterOptions o = hosts(2);
    o.lonc_yaml = "{ retries: 3, backoff_initial: 100ms, backoff_max: 1s, request_timeout: 1s }";
    Cluster c(o);
    TempDir tmp;
    auto handler = tmp.path() / "handler.sock";
    // A handler socket that accepts but never replies: a listening unix socket nobody reads.
    lon::UniqueFd hs(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", handler.c_str());
    REQUIRE(::bind(hs.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(hs.get(), 16) == 0);
    // Host 1's own lonc.request_timeout (which bounds its wait for the handler) stays long.
    std::string cfg1 = read_file(c.config(1));
    cfg1.replace(cfg1.find("request_timeout: 1s"), 19, "request_timeout: 30s");
    std::ofstream(c.config(1)) << cfg1
        << "lond: { handler: " << handler.string() << ", insecure_commands: [ping, echo, slow] }\n";
    c.start_all();
    UnixClient u(c.socket(0, 1));
    auto start = Clock::now();
    u.send("slow:1\nping\n");
    CHECK(u.read_line(5s) == std::optional<std::string>("con_lost"));
    CHECK(Clock::now() - start < 3s);
    CHECK(u.read_line(5s) == std::optional<std::string>(c.id(1)));
    CHECK(c.request(0, 1, "echo:still fine") == "still fine");
}
