#include <catch2/catch.hpp>

#include <vector>

#include "pool_policy.hpp"

using namespace lon::proto;
using namespace std::chrono_literals;

namespace {

using Pool = std::vector<PoolConn>;

PoolConn connecting() { return PoolConn{}; }

PoolConn linked(std::size_t in_flight, Mode mode = Mode::ssl) {
    PoolConn c;
    c.linked = true;
    c.in_flight = in_flight;
    c.mode = mode;
    return c;
}

PoolConn retired(PoolConn c) {
    c.retired = true;
    return c;
}

PoolConn closed(PoolConn c) {
    c.closed = true;
    return c;
}

const PoolLimits limits{3, 16};
const std::chrono::steady_clock::time_point t0{std::chrono::hours(1)};

} // namespace

TEST_CASE("Pool policy: no connection can take a request without a live linked one",
          "[proto][pool_policy]") {
    CHECK_FALSE(pick_connection(Pool{}, 16));
    CHECK_FALSE(pick_connection(Pool{connecting()}, 16));
    CHECK_FALSE(pick_connection(Pool{retired(linked(0))}, 16));
    CHECK_FALSE(pick_connection(Pool{closed(linked(0))}, 16));
}

TEST_CASE("Pool policy: the oldest live link with room gets the next request",
          "[proto][pool_policy]") {
    CHECK(pick_connection(Pool{linked(0)}, 16) == 0u);
    // Filled in order, not spread: the first keeps the traffic while it is below the depth.
    CHECK(pick_connection(Pool{linked(5), linked(2), linked(7)}, 16) == 0u);
    CHECK(pick_connection(Pool{linked(15), linked(0)}, 16) == 0u);
    CHECK(pick_connection(Pool{linked(16), linked(3), linked(0)}, 16) == 1u);
    CHECK(pick_connection(Pool{linked(16), linked(16), linked(15)}, 16) == 2u);
}

TEST_CASE("Pool policy: when every link is at the depth, the least loaded one, the first on a tie",
          "[proto][pool_policy]") {
    CHECK(pick_connection(Pool{linked(20), linked(17), linked(30)}, 16) == 1u);
    CHECK(pick_connection(Pool{linked(16), linked(16)}, 16) == 0u);
    CHECK(pick_connection(Pool{linked(40), linked(18), linked(18)}, 16) == 1u);
    // Far past pipeline_depth a link still takes requests: the depth only opens another.
    CHECK(pick_connection(Pool{linked(1000)}, 16) == 0u);
}

TEST_CASE("Pool policy: retired, closed and negotiating connections get no request",
          "[proto][pool_policy]") {
    CHECK(pick_connection(Pool{retired(linked(0)), linked(9)}, 16) == 1u);
    CHECK(pick_connection(Pool{closed(linked(0)), linked(9)}, 16) == 1u);
    CHECK(pick_connection(Pool{connecting(), linked(9)}, 16) == 1u);
    CHECK(pick_connection(Pool{linked(9, Mode::insecure), connecting()}, 16) == 0u);
    CHECK(pick_connection(Pool{retired(linked(0)), linked(20), linked(30)}, 16) == 1u);
}

TEST_CASE("Pool policy: the first connection opens when there is none", "[proto][pool_policy]") {
    CHECK(decide_open(Pool{}, limits, true) == PoolOpen::open);
    // Only retired ones left (being replaced): a new one opens.
    CHECK(decide_open(Pool{retired(linked(3))}, limits, true) == PoolOpen::open);
    // A retired connection still negotiating does not hold the replacement back.
    CHECK(decide_open(Pool{retired(connecting())}, limits, true) == PoolOpen::open);
}

TEST_CASE("Pool policy: nothing opens before the backoff has passed", "[proto][pool_policy]") {
    CHECK(decide_open(Pool{}, limits, false) == PoolOpen::backoff);
    CHECK(decide_open(Pool{linked(16)}, limits, false) == PoolOpen::backoff);
}

TEST_CASE("Pool policy: one attempt at a time", "[proto][pool_policy]") {
    CHECK(decide_open(Pool{connecting()}, limits, true) == PoolOpen::attempt_under_way);
    CHECK(decide_open(Pool{linked(16), connecting()}, limits, true) ==
          PoolOpen::attempt_under_way);
    CHECK(decide_open(Pool{connecting(), linked(16)}, limits, true) ==
          PoolOpen::attempt_under_way);
}

TEST_CASE("Pool policy: another link opens when every link is busy, up to max_connections",
          "[proto][pool_policy]") {
    // A link with room: enough.
    CHECK(decide_open(Pool{linked(0)}, limits, true) == PoolOpen::enough);
    CHECK(decide_open(Pool{linked(15)}, limits, true) == PoolOpen::enough);
    CHECK(decide_open(Pool{linked(16), linked(15)}, limits, true) == PoolOpen::enough);
    // All at pipeline_depth, below max: open.
    CHECK(decide_open(Pool{linked(16)}, limits, true) == PoolOpen::open);
    CHECK(decide_open(Pool{linked(16), linked(40)}, limits, true) == PoolOpen::open);
    // At max: enough, however busy.
    CHECK(decide_open(Pool{linked(16), linked(16), linked(16)}, limits, true) ==
          PoolOpen::enough);
    CHECK(decide_open(Pool{linked(99), linked(99), linked(99)}, limits, true) ==
          PoolOpen::enough);
    CHECK(decide_open(Pool{linked(16)}, PoolLimits{1, 16}, true) == PoolOpen::enough);
    CHECK(decide_open(Pool{linked(2)}, PoolLimits{3, 2}, true) == PoolOpen::open);
}

TEST_CASE("Pool policy: retired links neither count towards max nor keep the pool busy",
          "[proto][pool_policy]") {
    // Two live busy links plus a retired busy one: below max 3, so a third opens.
    CHECK(decide_open(Pool{linked(16), retired(linked(16)), linked(16)}, limits, true) ==
          PoolOpen::open);
    // A retired idle link does not make the pool "not busy".
    CHECK(decide_open(Pool{retired(linked(0)), linked(16)}, limits, true) == PoolOpen::open);
}

TEST_CASE("Pool policy: an ssl attempt beside a plaintext link needs a certificate and the "
          "interval passed",
          "[proto][pool_policy]") {
    Pool plain{linked(0, Mode::insecure)};
    CHECK(upgrade_probe_due(plain, true, t0, t0));
    CHECK(upgrade_probe_due(plain, true, t0 + 1ms, t0));
    CHECK_FALSE(upgrade_probe_due(plain, true, t0 - 1ms, t0)); // interval not passed
    CHECK_FALSE(upgrade_probe_due(plain, false, t0, t0));      // no usable certificate
    // Mixed: a plaintext link beside an ssl one is still worth it.
    CHECK(upgrade_probe_due(Pool{linked(0), linked(3, Mode::insecure)}, true, t0, t0));
}

TEST_CASE("Pool policy: no ssl attempt without a live plaintext link or while one is under way",
          "[proto][pool_policy]") {
    CHECK_FALSE(upgrade_probe_due(Pool{}, true, t0, t0));
    CHECK_FALSE(upgrade_probe_due(Pool{linked(0)}, true, t0, t0)); // ssl already
    CHECK_FALSE(upgrade_probe_due(Pool{retired(linked(0, Mode::insecure))}, true, t0, t0));
    CHECK_FALSE(upgrade_probe_due(Pool{linked(0, Mode::insecure), connecting()}, true, t0, t0));
    // Any connection negotiating holds it back, even a retired one.
    CHECK_FALSE(
        upgrade_probe_due(Pool{linked(0, Mode::insecure), retired(connecting())}, true, t0, t0));
}

TEST_CASE("Pool policy: which connections a retirement takes", "[proto][pool_policy]") {
    CHECK(should_retire(linked(0), RetireScope::all));
    CHECK(should_retire(linked(0, Mode::insecure), RetireScope::all));
    CHECK(should_retire(linked(0, Mode::insecure), RetireScope::insecure_only));
    CHECK_FALSE(should_retire(linked(0), RetireScope::insecure_only));
    CHECK_FALSE(should_retire(retired(linked(0)), RetireScope::all));
    CHECK_FALSE(should_retire(retired(linked(0, Mode::insecure)), RetireScope::insecure_only));
    // A connection still negotiating has no mode yet and counts as insecure.
    CHECK(should_retire(connecting(), RetireScope::insecure_only));
    CHECK(should_retire(connecting(), RetireScope::all));
}

TEST_CASE("Pool policy: a retired connection closes once nothing is in flight on it",
          "[proto][pool_policy]") {
    CHECK(close_retired(retired(linked(0))));
    CHECK(close_retired(retired(connecting())));
    CHECK_FALSE(close_retired(retired(linked(1))));
    CHECK_FALSE(close_retired(linked(0)));
}

TEST_CASE("Pool policy: linked open connections are probed, busy or idle", "[proto][pool_policy]") {
    CHECK(probe_liveness(linked(0)));
    CHECK(probe_liveness(linked(20)));
    CHECK(probe_liveness(retired(linked(3))));
    CHECK_FALSE(probe_liveness(connecting()));
    CHECK_FALSE(probe_liveness(closed(linked(0))));
}
