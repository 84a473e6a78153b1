// "Sent at most once" (PROTOCOL.md): a request in flight when its link dies is answered
// con_lost and never sent again, not even on the next link. The test handler logs every line
// it receives, so a resend would show as a second line.

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "test_handler.hpp"

using namespace it;

namespace {

/// The lines of `text`, sorted: requests spread over several handler connections reach the
/// handler in no fixed order.
std::multiset<std::string> lines_of(const std::string& text) {
    std::multiset<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.insert(line);
    }
    return out;
}

} // namespace

TEST_CASE("requests in flight when the peer's lond child is killed get con_lost and are never "
          "sent again",
          "[integration][at_most_once]") {
    ClusterOptions o = hosts(2);
    o.lonc.request_timeout = "60s";
    Cluster c(o);
    TestHandler h = TestHandler::start(c);
    std::ofstream(c.config(1), std::ios::app) << h.lond_yaml("insecure_commands: [ping, hold, warm]");
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    h.await_pipelining(c, 0, 1);

    UnixClient client(c.socket(0, 1));
    REQUIRE(client.connected());
    std::string batch;
    for (int i = 0; i < 10; ++i) {
        batch += "hold:" + std::to_string(i) + "\n";
    }
    client.send(batch);
    std::string expected = c.id(0) + ":warm\n";
    for (int i = 0; i < 10; ++i) {
        expected += c.id(0) + ":hold:" + std::to_string(i) + "\n";
    }
    REQUIRE(wait_until(10s, [&] { return lines_of(h.received()) == lines_of(expected); }));

    pid_t child = c.lond_child(1, 0);
    REQUIRE(child > 0);
    ::kill(child, SIGKILL);
    for (int i = 0; i < 10; ++i) {
        INFO("request " << i);
        CHECK(client.read_line() == std::optional<std::string>("con_lost"));
    }
    // The link comes back; the held requests are let go; nothing is sent a second time.
    h.release_held();
    CHECK(wait_until(15s, [&] { return c.request(0, 1, "ping") == c.id(1); }));
    CHECK(client.request("hold:after") == "got:" + c.id(0) + ":hold:after");
    CHECK(lines_of(h.received()) == lines_of(expected + c.id(0) + ":hold:after\n"));
}
