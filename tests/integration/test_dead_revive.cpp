#include <catch2/catch.hpp>

#include <csignal>

#include "harness.hpp"

using namespace it;

namespace {

bool title_starts(pid_t pid, const std::string& prefix) {
    return read_title(pid).rfind(prefix, 0) == 0;
}

} // namespace

TEST_CASE("peer down: con_lost, retries count down to DEAD, recovery when it returns",
          "[integration]") {
    // retries 3, backoff 100ms doubling, backoff_max 1s, request_timeout 5s.
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    std::string peer = c.id(1);

    c.stop_lond(1);
    auto start = Clock::now();
    CHECK(c.request(0, 1, "ping", 10s) == "con_lost");
    CHECK(Clock::now() - start < 6s); // within request_timeout (5 s) plus margin

    // The title walks through the retries (not all are necessarily seen: they are fast),
    // and ends DEAD.
    CHECK(wait_until(10s, [&] { return title_starts(child, "lonc: " + peer + " >>> DEAD !!!! <<< next probe in "); }));
    auto status = read_file(c.run_dir(0) / ("lonc." + peer + ".json"));
    CHECK(status.find("\"state\":\"dead\"") != std::string::npos);
    CHECK(status.find("\"retries_remaining\":0") != std::string::npos);

    // While DEAD a request fails at once.
    start = Clock::now();
    CHECK(c.request(0, 1, "ping") == "con_lost");
    CHECK(Clock::now() - start < 1s);

    // The peer comes back: the slow probe (every backoff_max = 1 s) links again, retries full.
    c.start_lond(1);
    std::string linked = "lonc: " + peer + " Connection count: 1 Retries remaining: 3 (insecure)";
    CHECK(wait_until(5s, [&] { return read_title(child) == linked; }));
    CHECK(c.request(0, 1, "ping") == peer);
    CHECK(c.lonc_child(0, 1) == child); // the same child recovered
}

TEST_CASE("peer down: the title shows the retries counting down", "[integration]") {
    // Slow backoff so each step is visible: 5 retries, 400ms doubling.
    ClusterOptions o = hosts(2);
    o.lonc_yaml = "{ retries: 5, backoff_initial: 400ms, backoff_max: 30s, stable_after: 1s, "
                  "request_timeout: 5s }";
    Cluster c(o);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lonc_child(0, 1);
    c.stop_lond(1);
    std::string connecting = "lonc: " + c.id(1) + " Connecting Retries remaining: ";
    CHECK(wait_until(5s, [&] { return read_title(child) == connecting + "4"; }));
    CHECK(wait_until(5s, [&] { return read_title(child) == connecting + "3"; }));
    CHECK(wait_until(5s, [&] { return read_title(child) == connecting + "2"; }));
}

namespace {

/// Options where DEAD comes fast (2 retries) and the next probe is a minute away, so only
/// an explicit revival can bring the link back within a test's deadline.
ClusterOptions slow_probe() {
    ClusterOptions o = hosts(2);
    o.lonc_yaml = "{ retries: 2, backoff_initial: 100ms, backoff_max: 60s, request_timeout: 5s }";
    return o;
}

/// Links host 0 to host 1, stops host 1's lond until host 0's link is DEAD, starts it
/// again; returns host 0's lonc child for host 1.
pid_t dead_then_back(Cluster& c) {
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lonc_child(0, 1);
    c.stop_lond(1);
    REQUIRE(wait_until(5s, [&] { return read_title(child).find(">>> DEAD !!!! <<<") != std::string::npos; }));
    c.start_lond(1);
    return child;
}

} // namespace

TEST_CASE("USR1 to the lonc parent revives a DEAD link at once", "[integration]") {
    Cluster c(slow_probe());
    pid_t child = dead_then_back(c);
    ::kill(c.lonc_pid(0), SIGUSR1);
    CHECK(wait_until(5s, [&] {
        return read_title(child) == "lonc: " + c.id(1) + " Connection count: 1 Retries remaining: 2 (insecure)";
    }));
    CHECK(c.request(0, 1, "ping") == c.id(1));
}

TEST_CASE("an inbound connection from a DEAD peer revives the link to it", "[integration]") {
    Cluster c(slow_probe());
    pid_t child = dead_then_back(c);
    // Host 1 talks to host 0: host 0's lond sees it and wakes host 0's DEAD lonc child.
    REQUIRE(c.request(1, 0, "ping") == c.id(0));
    CHECK(wait_until(5s, [&] { return read_title(child).find("Connection count: 1") != std::string::npos; }));
}
