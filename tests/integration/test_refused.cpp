#include <catch2/catch.hpp>

#include <algorithm>

#include "harness.hpp"

using namespace it;

namespace {

struct Attempt {
    const char* what;
    bool from_stranger; ///< source address in no host's entry
    std::string (*init)(const Cluster&);
    const char* answer;
};

} // namespace

TEST_CASE("lond refuses strangers and bad init lines, and keeps serving", "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    const Attempt attempts[] = {
        {"known id from a foreign address", true,
         [](const Cluster& k) { return "init:1:" + k.id(0) + ":" + k.id(1) + ":insecure\n"; },
         "refused:address_mismatch"},
        {"unknown id", true,
         [](const Cluster& k) { return "init:1:intruder:" + k.id(1) + ":insecure\n"; },
         "refused:unknown_host"},
        {"unknown id from a member's address", false,
         [](const Cluster& k) { return "init:1:intruder:" + k.id(1) + ":insecure\n"; },
         "refused:unknown_host"},
        {"wrong server id", false,
         [](const Cluster& k) { return "init:1:" + k.id(0) + ":elsewhere:insecure\n"; },
         "refused:wrong_server"},
        {"future protocol version", false,
         [](const Cluster& k) { return "init:2:" + k.id(0) + ":" + k.id(1) + ":insecure\n"; },
         "refused:version"},
        {"malformed init", false, [](const Cluster&) { return std::string("hello there\n"); },
         "refused:bad_init"},
        {"init line over 1 KiB", false,
         [](const Cluster& k) { return "init:1:" + k.id(0) + ":" + std::string(2000, 'x') + "\n"; },
         "refused:bad_init"},
    };
    for (const auto& a : attempts) {
        INFO(a.what);
        TcpClient t(a.from_stranger ? c.stranger_address() : c.address(0), c.address(1), 5663);
        REQUIRE(t.connected());
        t.send(a.init(c));
        CHECK(t.read_line() == std::optional<std::string>(a.answer));
        CHECK(t.closed_by_peer());
    }
    auto log = read_file(c.log_file(1, "lond"));
    CHECK(log.find("refused " + c.stranger_address() + " claiming " + c.id(0) +
                   ": address_mismatch") != std::string::npos);
    CHECK(log.find("refused " + c.stranger_address() + " claiming intruder: unknown_host") !=
          std::string::npos);
    // The real peer is still served.
    CHECK(c.request(0, 1, "ping") == c.id(1));
}

TEST_CASE("lond: a silent connection is closed after the handshake timeout", "[integration]") {
    Cluster c(hosts(2)); // handshake_timeout 2s
    c.start_all();
    TcpClient t(c.address(0), c.address(1), 5663);
    REQUIRE(t.connected());
    auto start = Clock::now();
    CHECK(t.closed_by_peer(6s));
    CHECK(Clock::now() - start >= 1500ms);
}

TEST_CASE("lond: a raw peer can negotiate insecure and pipeline tagged requests",
          "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    TcpClient t(c.address(0), c.address(1), 5663);
    REQUIRE(t.connected());
    t.send("init:1:" + c.id(0) + ":" + c.id(1) + ":insecure\n");
    REQUIRE(t.read_line() == std::optional<std::string>("ok:insecure"));
    t.send("7 ping\n8 echo:x\n9 nope\n");
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i) {
        got.push_back(t.read_line().value_or("<none>"));
    }
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<std::string>{"7 " + c.id(1), "8 x", "9 unknown_cmd"});
    // A malformed request line ends that connection only.
    t.send("not-a-tag ping\n");
    CHECK(t.closed_by_peer());
    CHECK(c.request(0, 1, "ping") == c.id(1));
}

TEST_CASE("lond: a request line over max_message_bytes closes that connection only",
          "[integration]") {
    ClusterOptions o = hosts(2);
    o.limits_yaml = "{ handshake_timeout: 2s, max_message_bytes: 1KiB }";
    Cluster c(o);
    c.start_all();
    TcpClient t(c.address(0), c.address(1), 5663);
    t.send("init:1:" + c.id(0) + ":" + c.id(1) + ":insecure\n");
    REQUIRE(t.read_line() == std::optional<std::string>("ok:insecure"));
    t.send("1 echo:" + std::string(3000, 'y') + "\n");
    CHECK(t.closed_by_peer());
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(read_file(c.log_file(1, "lond")).find("line over 1024 bytes") != std::string::npos);
}
