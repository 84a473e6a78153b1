// DESIGN.md "Process titles": with mixed connections a title shows the weakest mode. A pool
// becomes mixed when both hosts get certificates while a plaintext link still carries a
// request: that link is retired but stays until its reply, beside the new ssl link.
// (A CA roster that lists the client makes lond close its plaintext links at once instead;
// see test_tls_roster.cpp.)

#include <fstream>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "test_handler.hpp"

using namespace it;

TEST_CASE("titles show the weakest mode while a retired plaintext link finishes its request "
          "beside a new ssl link, then ssl",
          "[integration][mixed_modes][tls]") {
    ClusterOptions o = hosts(2);
    o.lonc.request_timeout = "60s"; // the held request outlasts two certificate issues
    Cluster c(o);
    TestHandler h = TestHandler::start(c);
    std::ofstream(c.config(1), std::ios::app) << h.lond_yaml("insecure_commands: [ping, echo, hold]");
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    const std::string plain = title::lonc_linked(c.id(1), 1, 3, "insecure");
    REQUIRE(await_title(c.lonc_child(0, 1), plain) == plain);

    // A request held in flight on the plaintext link.
    UnixClient holder(c.socket(0, 1));
    REQUIRE(holder.connected());
    holder.send("hold:1\n");
    REQUIRE(wait_until(10s, [&] {
        return h.received().find(c.id(0) + ":hold:1\n") != std::string::npos;
    }));

    // Both hosts get certificates; each response script reloads its host. The server first:
    // the CA roster it receives lists only itself, so its lond keeps the plaintext link from
    // host 0 (a roster listing host 0 would close it at once, request and all). Host 0's
    // lonc then retires its plaintext link, which stays until its request is answered, and
    // opens an ssl one.
    c.issue_certificate(1);
    c.issue_certificate(0);
    const std::string mixed_lonc = title::lonc_linked(c.id(1), 2, 3, "insecure");
    const std::string mixed_lond = title::lond_child(c.id(0), 2, "insecure");
    CHECK(wait_until(20s, [&] {
        // Traffic makes the ssl link (if the reload has not already).
        return c.request(0, 1, "echo:x") == "x" && read_title(c.lonc_child(0, 1)) == mixed_lonc;
    }));
    CHECK(read_title(c.lonc_child(0, 1)) == mixed_lonc);
    CHECK(await_title(c.lond_child(1, 0), mixed_lond) == mixed_lond);

    // The held request completes on its own link; then only the ssl link is left.
    h.release_held();
    CHECK(holder.read_line() == std::optional<std::string>("got:" + c.id(0) + ":hold:1"));
    const std::string ssl_lonc = title::lonc_linked(c.id(1), 1, 3, "ssl");
    const std::string ssl_lond = title::lond_child(c.id(0), 1, "ssl");
    CHECK(await_title(c.lonc_child(0, 1), ssl_lonc) == ssl_lonc);
    CHECK(await_title(c.lond_child(1, 0), ssl_lond) == ssl_lond);
}
