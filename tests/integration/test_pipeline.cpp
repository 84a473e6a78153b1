// Many requests on local connections at once: every reply comes back, in order, once.

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

TEST_CASE("1000 pipelined requests on one local connection come back in order", "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    UnixClient u(c.socket(0, 1));
    REQUIRE(u.connected());
    std::string burst;
    for (int i = 0; i < 1000; ++i) {
        burst += "echo:request-" + std::to_string(i) + "-" +
                 std::string(static_cast<std::size_t>(i % 50), 'p') + "\n";
    }
    u.send(burst);
    for (int i = 0; i < 1000; ++i) {
        auto line = u.read_line(10s);
        REQUIRE(line);
        REQUIRE(*line == "request-" + std::to_string(i) + "-" +
                             std::string(static_cast<std::size_t>(i % 50), 'p'));
    }
    // Nothing more than one reply per request: replies come in order, so an extra one would
    // be read before the reply to this last request.
    CHECK(u.request("echo:sentinel") == "sentinel");
    CHECK_FALSE(u.read_line(1s));
}

TEST_CASE("concurrent local clients each get their own replies", "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    std::vector<UnixClient> clients;
    for (int k = 0; k < 8; ++k) {
        clients.emplace_back(c.socket(0, 1));
        REQUIRE(clients.back().connected());
    }
    for (int round = 0; round < 50; ++round) {
        for (int k = 0; k < 8; ++k) {
            clients[static_cast<std::size_t>(k)].send("echo:" + std::to_string(k) + "." +
                                                      std::to_string(round) + "\n");
        }
    }
    for (int k = 0; k < 8; ++k) {
        for (int round = 0; round < 50; ++round) {
            auto line = clients[static_cast<std::size_t>(k)].read_line(10s);
            REQUIRE(line);
            REQUIRE(*line == std::to_string(k) + "." + std::to_string(round));
        }
    }
}
