// Requests between the hosts of a 3-host cluster, through lonc's unix sockets and through
// lonreply, in every direction.

#include <cstdlib>
#include <ctime>

#include <regex>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

/// A request and the reply expected from host `to` when host `from` sends it.
struct Exchange {
    const char* what;
    std::string (*request)(const Cluster&, int from, int to);
    std::string (*reply)(const Cluster&, int from, int to);
};

// Spaces, a bare '%', an already escaped field, ':' and '&' separators, and UTF-8 text:
// echo must hand every byte back untouched.
const std::string echo_text = "hello world 100% a%20b x:y&k=v gr\xc3\xbc\xc3\x9f\x65 \xe2\x9c\x93 "
                              "\xe6\x97\xa5\xe6\x9c\xac";

const Exchange exchanges[] = {
    {"ping", [](const Cluster&, int, int) { return std::string("ping"); },
     [](const Cluster& c, int, int to) { return c.id(to); }},
    {"echo", [](const Cluster&, int, int) { return "echo:" + echo_text; },
     [](const Cluster&, int, int) { return echo_text; }},
    // The server pings the requester back through its own lonc.
    {"pong", [](const Cluster&, int, int) { return std::string("pong"); },
     [](const Cluster& c, int from, int to) { return c.id(to) + ":" + c.id(from); }},
};

} // namespace

TEST_CASE("cluster: ping, echo and pong in every direction, over unix sockets and lonreply",
          "[integration]") {
    Cluster c; // 3 hosts
    c.start_all();
    for (int from = 0; from < c.size(); ++from) {
        for (int to = 0; to < c.size(); ++to) {
            if (from == to) {
                continue;
            }
            for (const auto& x : exchanges) {
                INFO(c.id(from) << " -> " << c.id(to) << ": " << x.what);
                std::string request = x.request(c, from, to);
                std::string expected = x.reply(c, from, to);
                CHECK(c.request(from, to, request) == expected);
                auto r = c.lonreply(from, to, request);
                INFO("lonreply stderr: " << r.err);
                CHECK(r.code == 0);
                CHECK(r.out == expected + "\n");
            }
        }
    }
}

TEST_CASE("cluster: time, load, version and unknown commands", "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    std::string t = c.request(0, 1, "time");
    REQUIRE(!t.empty());
    REQUIRE(t.find_first_not_of("0123456789") == std::string::npos);
    CHECK(std::labs(std::stol(t) - static_cast<long>(std::time(nullptr))) < 5);
    // load: a percentage with two decimals ("12.50"), nothing else.
    std::string load = c.request(0, 1, "load");
    CHECK(std::regex_match(load, std::regex("[0-9]+\\.[0-9]{2}")));
    // version: the peer's software version (as its binary reports it) and protocol version.
    auto binary = run({lond_bin().string(), "--version"});
    REQUIRE(binary.code == 0);
    std::smatch m;
    REQUIRE(std::regex_search(binary.out, m, std::regex("[0-9]+\\.[0-9]+\\.[0-9]+")));
    CHECK(c.request(0, 1, "version") == "lonlink=" + m.str() + "&protocol=1");
    CHECK(c.request(0, 1, "no_such_command:x") == "unknown_cmd");
}

TEST_CASE("lonreply: prints the reply and sets the exit status", "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    auto ok = c.lonreply(0, 1, "ping");
    CHECK(ok.code == 0);
    CHECK(ok.out == c.id(1) + "\n");
    auto unknown = c.lonreply(0, 1, "bogus");
    CHECK(unknown.code == 1);
    CHECK(unknown.out == "unknown_cmd\n");
    c.stop_lond(1);
    auto lost = c.lonreply(0, 1, "ping");
    CHECK(lost.code == 1);
    CHECK(lost.out == "con_lost\n");
    // A peer that is not in the hosts table has no socket: an error, not a reply.
    auto usage =
        run({lonreply_bin().string(), "--config", c.config(0).string(), "nosuchpeer", "ping"});
    CHECK(usage.code != 0);
    CHECK(!usage.err.empty());
}
