// A peer's lond goes away: requests fail with con_lost, the lonc child's title counts the
// retries down to DEAD, and the link comes back (probe, USR1, inbound connection).

#include <csignal>
#include <cstdlib>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "loncontrol_run.hpp"

using namespace it;

namespace {

/// The distinct titles a process showed, in order, sampled every few milliseconds.
struct TitleTrace {
    std::vector<std::string> titles;
    void sample(pid_t pid) {
        std::string t = read_title(pid);
        if (!t.empty() && (titles.empty() || titles.back() != t)) {
            titles.push_back(t);
        }
    }
};

/// The r of a "Connecting Retries remaining: r" title for `peer`, else -1.
int connecting_retries(const std::string& t, const std::string& peer) {
    std::string prefix = title::lonc_connecting(peer, 0);
    prefix.pop_back(); // drop the "0"
    if (t.rfind(prefix, 0) != 0) {
        return -1;
    }
    std::string r = t.substr(prefix.size());
    if (r.empty() || r.find_first_not_of("0123456789") != std::string::npos) {
        return -1;
    }
    return std::atoi(r.c_str());
}

} // namespace

TEST_CASE("peer down: con_lost, retries count down to DEAD, a probe revives the link",
          "[integration]") {
    // retries 3, backoff 100ms doubling up to backoff_max 1s, request_timeout 5s.
    Cluster c(hosts(2));
    c.start_all();
    const std::string peer = c.id(1);
    REQUIRE(c.request(0, 1, "ping") == peer);
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    REQUIRE(await_title(child, title::lonc_linked(peer, 1, 3)) == title::lonc_linked(peer, 1, 3));

    c.stop_lond(1);
    // One request in flight while the title is sampled, until both the reply came and the
    // child is DEAD.
    TitleTrace trace;
    trace.sample(child);
    UnixClient u(c.socket(0, 1));
    REQUIRE(u.connected());
    auto start = Clock::now();
    u.send("ping\n");
    std::optional<std::string> reply;
    auto replied_after = 0ms;
    auto deadline = start + 15s;
    while (Clock::now() < deadline &&
           !(reply && !trace.titles.empty() && title::is_lonc_dead(trace.titles.back(), peer))) {
        trace.sample(child);
        if (!reply) {
            reply = u.read_line(5ms);
            if (reply) {
                replied_after =
                    std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
            }
        } else {
            std::this_thread::sleep_for(5ms);
        }
    }
    CHECK(reply == std::optional<std::string>("con_lost"));
    CHECK(replied_after < 5s + 1s); // within request_timeout plus a margin
    std::string seen;
    for (const auto& t : trace.titles) {
        seen += "\n  " + t;
    }
    INFO("titles seen:" << seen);
    REQUIRE(!trace.titles.empty());
    CHECK(title::is_lonc_dead(trace.titles.back(), peer));
    // Between linked and DEAD only "Connecting" titles, with the retries going down.
    int last_r = 4;
    int connecting_seen = 0;
    for (const auto& t : trace.titles) {
        if (t == title::lonc_linked(peer, 1, 3) || title::is_lonc_dead(t, peer)) {
            continue;
        }
        int r = connecting_retries(t, peer);
        INFO(t);
        CHECK(r >= 0);
        CHECK(r < last_r);
        last_r = r;
        ++connecting_seen;
    }
    CHECK(connecting_seen >= 1);

    // The status file follows within a second.
    auto status = await_status(c.run_dir(0) / ("lonc." + peer + ".json"), {{"state", "\"dead\""}});
    REQUIRE(status);
    CHECK((*status)["state"] == "\"dead\"");
    CHECK((*status)["retries_remaining"] == "0");
    CHECK((*status)["next_probe_s"] != "null");

    // While DEAD a request fails at once.
    start = Clock::now();
    CHECK(c.request(0, 1, "ping") == "con_lost");
    CHECK(Clock::now() - start < 1s);

    // The peer comes back: the probe (every backoff_max = 1 s, with jitter) links again, with
    // the retry budget full.
    c.start_lond(1);
    CHECK(await_title(child, title::lonc_linked(peer, 1, 3), 1s + 3s) ==
          title::lonc_linked(peer, 1, 3));
    CHECK(c.request(0, 1, "ping") == peer);
    CHECK(c.lonc_child(0, 1) == child); // the same child recovered
    status = await_status(c.run_dir(0) / ("lonc." + peer + ".json"), {{"state", "\"linked\""}});
    REQUIRE(status);
    CHECK((*status)["state"] == "\"linked\"");
}

TEST_CASE("peer down: the title shows every retry counting down", "[integration]") {
    // Slow backoff so each step is visible: 5 retries, 400ms doubling.
    ClusterOptions o = hosts(2);
    o.lonc.retries = 5;
    o.lonc.backoff_initial = "400ms";
    o.lonc.backoff_max = "30s";
    Cluster c(o);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    c.stop_lond(1);
    for (int r : {4, 3, 2}) {
        INFO("retries remaining " << r);
        CHECK(await_title(child, title::lonc_connecting(c.id(1), r)) ==
              title::lonc_connecting(c.id(1), r));
    }
}

TEST_CASE("a peer that comes up after our link went DEAD is linked again by the next "
          "requests, without USR1 and long before the probe",
          "[integration][dead_demand]") {
    // The mass-start case (bench/mesh): our lonc is up before the peer's lond, the first
    // attempts are refused, the link goes DEAD; the probe is a minute away.
    ClusterOptions o = hosts(2);
    o.lonc.retries = 2;
    o.lonc.backoff_initial = "200ms";
    o.lonc.backoff_max = "60s";
    Cluster c(o);
    c.start_lond(0);
    c.start_lonc(0);
    const std::string peer = c.id(1);
    CHECK(c.request(0, 1, "ping") == "con_lost");
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    auto dead =
        await_title_if([child] { return child; },
                       [&](const std::string& t) { return title::is_lonc_dead(t, peer); }, 10s);
    REQUIRE(title::is_lonc_dead(dead, peer));
    // While DEAD a request is still answered at once (the contract).
    auto start = Clock::now();
    CHECK(c.request(0, 1, "ping") == "con_lost");
    CHECK(Clock::now() - start < 1s);

    c.start_lond(1);
    // A client asking every 100 ms (as bench/mesh does) gets the peer's answer within
    // backoff_initial plus a connect: 3 s allows for a loaded machine; the probe would
    // take 54-66 s.
    start = Clock::now();
    std::string last;
    bool linked = wait_until(3s, [&] {
        last = c.request(0, 1, "ping");
        if (last == peer) {
            return true;
        }
        std::this_thread::sleep_for(100ms);
        return false;
    });
    INFO("last answer: " << last << ", title: " << read_title(child));
    CHECK(linked);
    CHECK(c.lonc_child(0, 1) == child); // the same child, revived by its own probe
    CHECK(await_title(child, title::lonc_linked(peer, 1, 2)) == title::lonc_linked(peer, 1, 2));
}

namespace {

/// Options where DEAD comes fast (2 retries) and the next probe is a minute away, so only
/// an explicit revival can bring the link back within a test's deadline.
ClusterOptions slow_probe() {
    ClusterOptions o = hosts(2);
    o.lonc.retries = 2;
    o.lonc.backoff_max = "60s";
    return o;
}

/// Links host 0 to host 1, stops host 1's lond until host 0's link is DEAD, starts it
/// again; returns host 0's lonc child for host 1.
pid_t dead_then_back(Cluster& c) {
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    c.stop_lond(1);
    // A request is what notices the peer is gone if the connection close went unseen.
    CHECK(c.request(0, 1, "ping") == "con_lost");
    auto dead =
        await_title_if([child] { return child; },
                       [&](const std::string& t) { return title::is_lonc_dead(t, c.id(1)); }, 10s);
    REQUIRE(title::is_lonc_dead(dead, c.id(1)));
    c.start_lond(1);
    // Nothing revives it by itself within a few seconds (the probe is a minute away).
    CHECK_FALSE(wait_until(3s, [&] { return !title::is_lonc_dead(read_title(child), c.id(1)); }));
    return child;
}

} // namespace

TEST_CASE("USR1 to the lonc parent revives a DEAD link at once", "[integration]") {
    Cluster c(slow_probe());
    pid_t child = dead_then_back(c);
    auto start = Clock::now();
    REQUIRE(::kill(c.lonc_pid(0), SIGUSR1) == 0);
    // Retries full again after the revival.
    CHECK(await_title(child, title::lonc_linked(c.id(1), 1, 2)) ==
          title::lonc_linked(c.id(1), 1, 2));
    CHECK(Clock::now() - start < 3s);
    CHECK(c.request(0, 1, "ping") == c.id(1));
}

TEST_CASE("an inbound connection from a DEAD peer revives the link to it", "[integration]") {
    Cluster c(slow_probe());
    pid_t child = dead_then_back(c);
    // Host 1 talks to host 0: host 0's lond sees it and wakes host 0's DEAD lonc child.
    REQUIRE(c.request(1, 0, "ping") == c.id(0));
    CHECK(await_title(child, title::lonc_linked(c.id(1), 1, 2)) ==
          title::lonc_linked(c.id(1), 1, 2));
    CHECK(c.request(0, 1, "ping") == c.id(1));
}

TEST_CASE("loncontrol start on a running host revives its DEAD links",
          "[integration][loncontrol_revive]") {
    Cluster c(slow_probe());
    pid_t child = dead_then_back(c);
    pid_t parent = c.lonc_pid(0);
    auto start = Clock::now();
    auto r = loncontrol(c, 0, "start");
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(await_title(child, title::lonc_linked(c.id(1), 1, 2)) ==
          title::lonc_linked(c.id(1), 1, 2));
    CHECK(Clock::now() - start < 5s);
    // Revived in place: the same parent, nothing started twice.
    CHECK(read_pid_file(c.run_dir(0) / "lonc.pid") == std::optional<pid_t>(parent));
    CHECK(alive(parent));
    CHECK(c.request(0, 1, "ping") == c.id(1));
}
