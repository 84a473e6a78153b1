// lond's gate: raw TCP clients bound to chosen loopback addresses try bad init lines; each is
// refused (and logged with its reason and address) and lond keeps serving the real peers.

#include <algorithm>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

enum class From { stranger, member };

struct Attempt {
    const char* what;
    From from;
    std::string (*init)(const Cluster&); ///< bytes sent (host 1 is the server)
    const char* answer; ///< the exact refusal, or nullptr: closed, maybe after refused:bad_init
};

std::string init_line(const std::string& client, const std::string& server,
                      const std::string& version = "1") {
    return "init:" + version + ":" + client + ":" + server + ":insecure\n";
}

const Attempt attempts[] = {
    {"known id from an address not in the hosts table", From::stranger,
     [](const Cluster& k) { return init_line(k.id(0), k.id(1)); }, "refused:address_mismatch"},
    {"another member's id from a member's address", From::member,
     [](const Cluster& k) { return init_line(k.id(2), k.id(1)); }, "refused:address_mismatch"},
    {"unknown id from an address not in the hosts table", From::stranger,
     [](const Cluster& k) { return init_line("intruder", k.id(1)); }, "refused:unknown_host"},
    {"unknown id from a member's address", From::member,
     [](const Cluster& k) { return init_line("intruder", k.id(1)); }, "refused:unknown_host"},
    {"wrong server id", From::member,
     [](const Cluster& k) { return init_line(k.id(0), "elsewhere"); }, "refused:wrong_server"},
    {"unsupported protocol version", From::member,
     [](const Cluster& k) { return init_line(k.id(0), k.id(1), "999"); }, "refused:version"},
    {"malformed init line", From::member,
     [](const Cluster&) { return std::string("hello there\n"); }, nullptr},
    {"init line over 1 KiB", From::member,
     [](const Cluster& k) { return init_line(k.id(0), k.id(1) + std::string(2000, 'x')); },
     nullptr},
    {"4 KiB without a newline", From::member, [](const Cluster&) { return std::string(4096, 'i'); },
     nullptr},
};

} // namespace

TEST_CASE("lond refuses strangers and bad init lines, logs why, and keeps serving",
          "[integration]") {
    Cluster c; // 3 hosts; host 1 is the server, host 0 the member that plays tricks
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    for (const auto& a : attempts) {
        INFO(a.what);
        std::string source = a.from == From::stranger ? c.stranger_address() : c.address(0);
        RawTcpClient t(source, c.address(1));
        REQUIRE(t.connected());
        t.send(a.init(c));
        auto line = t.read_line();
        if (a.answer != nullptr) {
            CHECK(line == std::optional<std::string>(a.answer));
            // The log names the reason and the address it came from.
            std::string reason = std::string(a.answer).substr(std::string("refused:").size());
            CHECK(wait_until(3s, [&] {
                return file_has_line_with(c.log_file(1, "lond"), {reason, source});
            }));
        } else {
            CHECK((!line || *line == "refused:bad_init"));
        }
        CHECK(t.closed_by_peer());
        // After every attempt the real peers are still served.
        CHECK(c.request(0, 1, "ping") == c.id(1));
        CHECK(c.request(2, 1, "echo:still here") == "still here");
    }
    // And a genuine raw negotiation from host 0's own address still works.
    RawTcpClient t(c.address(0), c.address(1));
    REQUIRE(t.connected());
    t.send(init_line(c.id(0), c.id(1)));
    CHECK(t.read_line() == std::optional<std::string>("ok:insecure"));
    t.send("1 ping\n");
    CHECK(t.read_line() == std::optional<std::string>("1 " + c.id(1)));
}

TEST_CASE("lond: a silent connection is closed after the handshake timeout", "[integration]") {
    Cluster c(hosts(2)); // handshake_timeout 2s
    c.start_all();
    RawTcpClient t(c.address(0), c.address(1));
    REQUIRE(t.connected());
    auto start = Clock::now();
    CHECK(t.closed_by_peer(6s));
    CHECK(Clock::now() - start >= 1500ms);
    CHECK(c.request(0, 1, "ping") == c.id(1));
}

TEST_CASE("lond: a raw peer can negotiate insecure and pipeline tagged requests", "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    RawTcpClient t(c.address(0), c.address(1));
    REQUIRE(t.connected());
    t.send(init_line(c.id(0), c.id(1)));
    REQUIRE(t.read_line() == std::optional<std::string>("ok:insecure"));
    t.send("7 ping\n8 echo:x\n9 nope\n");
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i) {
        got.push_back(t.read_line().value_or("<none>"));
    }
    std::sort(got.begin(), got.end()); // replies may come out of order
    CHECK(got == std::vector<std::string>{"7 " + c.id(1), "8 x", "9 unknown_cmd"});
    // A malformed request line ends that connection only.
    t.send("not-a-tag ping\n");
    CHECK(t.closed_by_peer());
    CHECK(c.request(0, 1, "ping") == c.id(1));
}

TEST_CASE("lond: a request line over max_message_bytes closes that connection only",
          "[integration]") {
    ClusterOptions o = hosts(2);
    o.limits.max_message_bytes = "1KiB";
    Cluster c(o);
    c.start_all();
    RawTcpClient t(c.address(0), c.address(1));
    t.send(init_line(c.id(0), c.id(1)));
    REQUIRE(t.read_line() == std::optional<std::string>("ok:insecure"));
    t.send("1 echo:" + std::string(3000, 'y') + "\n");
    CHECK(t.closed_by_peer());
    CHECK(c.request(0, 1, "ping") == c.id(1));
}

TEST_CASE("lond answers refused:busy to an address over limits.max_pending_inits_per_address "
          "connections without an init line, and still serves the others",
          "[integration][refused_busy]") {
    ClusterOptions o = hosts(2);
    o.limits_yaml = "{ handshake_timeout: 10s, max_pending_inits_per_address: 3 }";
    Cluster c(o);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    const std::string source = c.stranger_address();
    std::vector<std::unique_ptr<RawTcpClient>> silent;
    for (int i = 0; i < 3; ++i) {
        silent.push_back(std::make_unique<RawTcpClient>(source, c.address(1)));
        REQUIRE(silent.back()->connected());
    }
    // lond has accepted all three (they hold pending slots) once the next one is refused.
    RawTcpClient over(source, c.address(1));
    REQUIRE(over.connected());
    CHECK(over.read_line() == std::optional<std::string>("refused:busy"));
    CHECK(over.closed_by_peer());
    // The three waiting ones are not disturbed by that, and the members are still served.
    for (auto& s : silent) {
        CHECK_FALSE(s->closed_by_peer(100ms));
    }
    CHECK(c.request(0, 1, "echo:still here") == "still here");
    RawTcpClient member(c.address(0), c.address(1));
    member.send("init:1:" + c.id(0) + ":" + c.id(1) + ":insecure\n");
    CHECK(member.read_line() == std::optional<std::string>("ok:insecure"));
}
