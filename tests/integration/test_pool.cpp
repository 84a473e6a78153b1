// The lonc pool (PROTOCOL.md "Connection life"): one link while it keeps up; another when
// every link has 64 requests in flight; never more than lonc.max_connections (past that the
// links share the load, fewest in flight first); every reply goes back to its own request.
// Which link carries a request (the oldest with room) is proto::pick_connection's, unit-tested.

#include <fstream>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "test_handler.hpp"

using namespace it;

TEST_CASE("lonc opens links up to lonc.max_connections when every link has 64 requests in "
          "flight, no more; every reply reaches its own request",
          "[integration][pool]") {
    ClusterOptions o = hosts(2);
    o.lonc.max_connections = 2;
    o.lonc.request_timeout = "60s";
    Cluster c(o);
    TestHandler h = TestHandler::start(c);
    // Every held request reaches the handler at once (the default lets 64 run per peer).
    std::ofstream(c.config(1), std::ios::app)
        << h.lond_yaml("insecure_commands: [ping, hold, warm], max_handler_requests: 400");
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    const std::string one = title::lonc_linked(c.id(1), 1, 3);
    REQUIRE(await_title(c.lonc_child(0, 1), one) == one);
    h.await_pipelining(c, 0, 1);

    // Held requests pipelined by one client: up to 64 in flight the one link carries them
    // all; past that a second one opens; with max_connections 2 that is all, and the two
    // links share the rest.
    UnixClient client(c.socket(0, 1));
    REQUIRE(client.connected());
    auto holds = [](int from, int to) {
        std::string batch;
        for (int i = from; i < to; ++i) {
            batch += "hold:" + std::to_string(i) + "\n";
        }
        return batch;
    };
    auto holds_received = [&] {
        std::string r = h.received();
        std::size_t count = 0;
        for (std::size_t p = r.find(":hold:"); p != std::string::npos; p = r.find(":hold:", p + 1)) {
            ++count;
        }
        return count;
    };
    const int below = 63; // in flight on the one link: below the depth
    client.send(holds(0, below));
    REQUIRE(wait_until(10s, [&] { return holds_received() == static_cast<std::size_t>(below); }));
    CHECK_FALSE(wait_until(1s, [&] { return read_title(c.lonc_child(0, 1)) != one; }));
    const int n = 160;
    client.send(holds(below, n));
    CHECK(wait_until(10s, [&] { return holds_received() == static_cast<std::size_t>(n); }));
    const std::string two = title::lonc_linked(c.id(1), 2, 3);
    const std::string lond_two = title::lond_child(c.id(0), 2);
    CHECK(await_title(c.lonc_child(0, 1), two) == two);
    CHECK(await_title(c.lond_child(1, 0), lond_two) == lond_two);
    // Held at the bound: no third link while all of them stay in flight.
    CHECK_FALSE(wait_until(1s, [&] { return read_title(c.lonc_child(0, 1)) != two; }));
    CHECK(read_title(c.lond_child(1, 0)) == lond_two);

    h.release_held();
    for (int i = 0; i < n; ++i) {
        INFO("request " << i);
        CHECK(client.read_line() ==
              std::optional<std::string>("got:" + c.id(0) + ":hold:" + std::to_string(i)));
    }
    CHECK(holds_received() == static_cast<std::size_t>(n));
}
