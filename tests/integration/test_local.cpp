// The local interface of lonc: socket, lonc's own replies, lonc:status and the status file.

#include <fstream>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

TEST_CASE("local socket: unknown_cmd, error:too_long, lonc:status and the status file",
          "[integration]") {
    ClusterOptions o = hosts(2);
    o.limits.max_message_bytes = "1KiB";
    Cluster c(o);
    c.start_all();
    struct stat st {};
    REQUIRE(::stat(c.socket(0, 1).c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0660);

    UnixClient u(c.socket(0, 1));
    REQUIRE(u.connected());
    CHECK(u.request("ping") == c.id(1)); // linked now
    CHECK(u.request("no_such_command:1") == "unknown_cmd");
    // Too long for max_message_bytes: lonc answers itself, and the connection goes on.
    CHECK(u.request("echo:" + std::string(2000, 'z')) == "error:too_long");
    CHECK(u.request("echo:after") == "after");
    // The same, pipelined: each request gets its own answer, in order.
    u.send("ping\necho:" + std::string(5000, 'z') + "\necho:after2\n");
    CHECK(u.read_line() == std::optional<std::string>(c.id(1)));
    CHECK(u.read_line() == std::optional<std::string>("error:too_long"));
    CHECK(u.read_line() == std::optional<std::string>("after2"));
    // Just under the limit still goes through.
    std::string fits(900, 'f');
    CHECK(u.request("echo:" + fits) == fits);

    std::string line = u.request("lonc:status");
    INFO(line);
    auto status = parse_json_object(line);
    REQUIRE(status);
    for (const char* key : {"role", "peer", "pid", "state", "connections", "retries_remaining",
                            "mode", "queued", "in_flight", "next_probe_s", "updated"}) {
        INFO(key);
        CHECK(status->count(key) == 1);
    }
    CHECK((*status)["role"] == "\"lonc\"");
    CHECK((*status)["peer"] == "\"" + c.id(1) + "\"");
    CHECK((*status)["pid"] == std::to_string(c.lonc_child(0, 1)));
    CHECK((*status)["state"] == "\"linked\"");
    CHECK((*status)["connections"] == "1");
    CHECK((*status)["retries_remaining"] == "3");
    CHECK((*status)["mode"] == "\"insecure\"");

    // The status file says the same (within a second: it is written at most once a second).
    auto file = await_status(c.run_dir(0) / ("lonc." + c.id(1) + ".json"), {{"state", "\"linked\""}});
    REQUIRE(file);
    CHECK((*file)["peer"] == "\"" + c.id(1) + "\"");
    CHECK((*file)["state"] == "\"linked\"");
    // An unknown lonc: command is an error from lonc, not something sent to the peer.
    CHECK(u.request("lonc:nonsense").rfind("error:", 0) == 0);
    CHECK(u.request("ping") == c.id(1));
}

TEST_CASE("a request timed out by lonc answers con_lost; the late reply is never delivered",
          "[integration]") {
    // The peer's handler never answers, so lonc's request_timeout (1 s) must.
    ClusterOptions o = hosts(2);
    o.lonc.request_timeout = "1s";
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
    auto at = cfg1.find("request_timeout: 1s");
    REQUIRE(at != std::string::npos);
    cfg1.replace(at, 19, "request_timeout: 30s");
    std::ofstream(c.config(1)) << cfg1 << "lond: { handler: " << handler.string()
                               << ", insecure_commands: [ping, echo, slow] }\n";
    c.start_all();
    UnixClient u(c.socket(0, 1));
    auto start = Clock::now();
    u.send("slow:1\nping\n");
    CHECK(u.read_line(5s) == std::optional<std::string>("con_lost"));
    CHECK(Clock::now() - start < 3s);
    CHECK(u.read_line(5s) == std::optional<std::string>(c.id(1)));
    CHECK(c.request(0, 1, "echo:still fine") == "still fine");
}
