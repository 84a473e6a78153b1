#include <catch2/catch.hpp>

#include "link_liveness.hpp"

using namespace lon::proto;
using namespace std::chrono_literals;
using Action = LinkLivenessAction;

namespace {

const LinkLivenessInput::time_point t0{std::chrono::hours(1)};

LinkLivenessInput at(std::chrono::milliseconds now, std::chrono::milliseconds last) {
    LinkLivenessInput in;
    in.now = t0 + now;
    in.last_received = t0 + last;
    in.keepalive = 1000ms;
    return in;
}

} // namespace

TEST_CASE("Link liveness: a quiet link is pinged, busy or idle", "[proto]") {
    CHECK(check_link_liveness(at(999ms, 0ms)) == Action::none);
    CHECK(check_link_liveness(at(1000ms, 0ms)) == Action::send_ping);
    auto busy = at(1500ms, 0ms);
    busy.earliest_request_deadline = t0 + 300s; // requests in flight do not hold the ping back
    CHECK(check_link_liveness(busy) == Action::send_ping);
}

TEST_CASE("Link liveness: an unanswered ping closes the link after one keepalive", "[proto]") {
    auto in = at(1999ms, 0ms);
    in.ping_deadline = t0 + 2000ms;
    CHECK(check_link_liveness(in) == Action::none);
    in.now = t0 + 2000ms;
    CHECK(check_link_liveness(in) == Action::close_keepalive_lost);
    // Bytes that arrived after the ping went out (a reply streaming in) keep it alive...
    in.last_received = t0 + 1500ms;
    CHECK(check_link_liveness(in) == Action::none);
    // ...until the link has again been quiet for a keepalive.
    in.now = t0 + 2500ms;
    CHECK(check_link_liveness(in) == Action::close_keepalive_lost);
}

TEST_CASE("Link liveness: a request past its deadline closes the link", "[proto]") {
    auto in = at(5000ms, 4999ms); // the link is chatty...
    in.earliest_request_deadline = t0 + 5000ms;
    CHECK(check_link_liveness(in) == Action::close_request_timeout); // ...but this one is stuck
    in.earliest_request_deadline = t0 + 5001ms;
    CHECK(check_link_liveness(in) == Action::none);
}

TEST_CASE("Link liveness: negotiation is bounded by two keepalives", "[proto]") {
    CHECK(negotiation_timeout(10s, 30s) == 10s);
    CHECK(negotiation_timeout(10s, 1s) == 2s);
}

TEST_CASE("Link liveness: the next check is when the answer first changes", "[proto][idle_wakeups]") {
    auto in = at(0ms, 0ms);
    CHECK(next_liveness_check(in) == t0 + 1000ms); // the ping
    CHECK(check_link_liveness(at(1000ms, 0ms)) == Action::send_ping);
    in.ping_deadline = t0 + 2000ms;
    in.last_received = t0 + 1000ms;
    CHECK(next_liveness_check(in) == t0 + 2000ms); // the unanswered ping
    in.last_received = t0 + 1500ms; // something arrived meanwhile: quiet for a keepalive first
    CHECK(next_liveness_check(in) == t0 + 2500ms);
    in.now = t0 + 2499ms;
    CHECK(check_link_liveness(in) == Action::none);
    in.now = t0 + 2500ms;
    CHECK(check_link_liveness(in) == Action::close_keepalive_lost);
    in.earliest_request_deadline = t0 + 1200ms; // a request runs out first
    CHECK(next_liveness_check(in) == t0 + 1200ms);
}
