// The two bounds on durable-request state (PROTOCOL.md §3): lond.critical_retention removes
// records never acknowledged, and lonc.max_spooled caps the spool (over it: con_failed).

#include <regex>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

bool status_says(const std::filesystem::path& status, const std::string& pattern) {
    return std::regex_search(read_file(status), std::regex(pattern));
}

} // namespace

TEST_CASE("lond removes a durable request record never acknowledged after "
          "lond.critical_retention, counts it, and a resend of that id then runs again",
          "[integration][critical][critical_bounds]") {
    ClusterOptions o = hosts(2);
    o.extra_yaml = "lond: { critical_retention: 3s }\n";
    Cluster c(o);
    c.start_all();
    // A peer that never acknowledges: a raw link speaking the wire protocol itself.
    TcpClient t(c.address(0), c.address(1), 5663);
    t.send("init:1:" + c.id(0) + ":" + c.id(1) + ":insecure\n");
    REQUIRE(t.read_line() == std::optional<std::string>("ok:insecure"));
    t.send("1 critical:abc-1:time\n");
    auto first = t.read_line();
    REQUIRE(first);
    REQUIRE(first->rfind("1 ", 0) == 0);
    auto records = c.dir(1) / "state" / "critical" / c.id(0);
    REQUIRE(files_in(records) == 1);
    // Kept while younger than the retention (answered from the record, not run again)...
    t.send("2 critical:abc-1:time\n");
    CHECK(t.read_line() == std::optional<std::string>("2 " + first->substr(2)));
    // ...and removed once older (checked every retention/4, at least every second).
    CHECK(wait_until(10s, [&] { return files_in(records) == 0; }));
    auto status = c.run_dir(1) / ("lond." + c.id(0) + ".json");
    CHECK(wait_until(5s, [&] { return status_says(status, "\"critical_expired\":1[,}]"); }));
    // The documented consequence: the id is unknown again, so a resend runs again.
    long answered = std::stol(first->substr(2));
    REQUIRE(wait_until(3s, [&] { return static_cast<long>(std::time(nullptr)) > answered; }));
    t.send("3 critical:abc-1:time\n");
    auto again = t.read_line();
    REQUIRE(again);
    CHECK(again->rfind("3 ", 0) == 0);
    CHECK(again->substr(2) != first->substr(2));
    CHECK(files_in(records) == 1);
}

TEST_CASE("lonc spools at most lonc.max_spooled durable requests: the next one gets "
          "con_failed and is not spooled; the spool takes requests again once delivered",
          "[integration][critical][critical_bounds]") {
    ClusterOptions o = hosts(2);
    o.lonc_yaml = "{ retries: 3, backoff_initial: 100ms, backoff_max: 1s, stable_after: 1s, "
                  "idle_timeout: 30s, request_timeout: 5s, keepalive: 30s, max_connections: 3, "
                  "max_spooled: 3 }";
    Cluster c(o);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    c.stop_lond(1);
    auto spool = c.dir(0) / "spool" / c.id(1);
    for (int i = 1; i <= 3; ++i) {
        CHECK(c.request(0, 1, "lonc:critical:echo:kept" + std::to_string(i)) == "con_delayed");
    }
    CHECK(c.request(0, 1, "lonc:critical:echo:over") == "con_failed");
    CHECK(files_in(spool) == 3);
    auto status = c.run_dir(0) / ("lonc." + c.id(1) + ".json");
    CHECK(wait_until(5s, [&] { return status_says(status, "\"spool_full\":1[,}]"); }));

    c.start_lond(1);
    CHECK(wait_until(15s, [&] { return files_in(spool) == 0; }));
    // The files go first (the writer thread unlinks them), then lonc's count of the spool:
    // its own status says when it has room again.
    CHECK(wait_until(5s, [&] {
        return c.request(0, 1, "lonc:status").find("\"spooled\":0") != std::string::npos;
    }));
    CHECK(c.request(0, 1, "lonc:critical:echo:after") == "after");
}
