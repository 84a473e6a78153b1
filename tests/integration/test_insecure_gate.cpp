// Which commands lond serves over which link (README "Requests", PROTOCOL.md): over an
// insecure link only lond.insecure_commands, the rest answered refused:requires_ssl without
// running; over ssl everything. And lond.handler: lond sends `<peer-id>:<request>` and relays
// the reply. The test handler records every line it receives, so "never ran" is observed.

#include <fstream>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "test_handler.hpp"

using namespace it;


TEST_CASE("insecure link: only lond.insecure_commands are served, the rest are refused "
          "requires_ssl and never reach the handler; the handler gets <peer-id>:<request>",
          "[integration][insecure_gate][handler]") {
    Cluster c(hosts(2));
    TestHandler h = TestHandler::start(c);
    std::ofstream(c.config(1), std::ios::app) << h.lond_yaml("insecure_commands: [ping, job]");
    c.start_all();

    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(c.request(0, 1, "job:1") == "got:" + c.id(0) + ":job:1");
    CHECK(c.request(0, 1, "echo:x") == "refused:requires_ssl");  // a built-in outside the list
    CHECK(c.request(0, 1, "secret:2") == "refused:requires_ssl"); // a handler command outside it
    CHECK(c.request(0, 1, "job:3") == "got:" + c.id(0) + ":job:3");
    CHECK(h.received() == c.id(0) + ":job:1\n" + c.id(0) + ":job:3\n");
}

TEST_CASE("ssl link: every command is served, whatever lond.insecure_commands says",
          "[integration][insecure_gate][handler][tls]") {
    Cluster c(hosts(2));
    TestHandler h = TestHandler::start(c);
    for (int i = 0; i < 2; ++i) {
        c.issue_certificate(i);
    }
    std::ofstream(c.config(1), std::ios::app) << h.lond_yaml("insecure_commands: [ping]");
    c.start_all();

    CHECK(c.request(0, 1, "echo:x") == "x");
    CHECK(c.request(0, 1, "secret:2") == "got:" + c.id(0) + ":secret:2");
    // ...and it really was the ssl link that served them.
    const std::string ssl_title = title::lonc_linked(c.id(1), 1, 3, "ssl");
    CHECK(await_title(c.lonc_child(0, 1), ssl_title) == ssl_title);
    CHECK(h.received() == c.id(0) + ":secret:2\n");
}
