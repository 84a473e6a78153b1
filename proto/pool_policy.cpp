#include "pool_policy.hpp"

namespace lon::proto {

namespace {

bool live(const PoolConn& c) { return c.linked && !c.closed && !c.retired; }

/// At the pipeline depth: takes more only when every link is (pick_connection), and counts
/// as busy when deciding whether to open another (decide_open). One definition for both.
bool full(const PoolConn& c, std::size_t pipeline_depth) { return c.in_flight >= pipeline_depth; }

} // namespace

std::optional<std::size_t> pick_connection(std::span<const PoolConn> pool,
                                           std::size_t pipeline_depth) {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < pool.size(); ++i) {
        if (!live(pool[i])) {
            continue;
        }
        if (!full(pool[i], pipeline_depth)) {
            return i; // the oldest link with room
        }
        // Strictly fewer: on a tie the earlier (older) link keeps the traffic.
        if (!best || pool[i].in_flight < pool[*best].in_flight) {
            best = i;
        }
    }
    return best;
}

PoolOpen decide_open(std::span<const PoolConn> pool, const PoolLimits& limits,
                     bool may_attempt) {
    if (!may_attempt) {
        return PoolOpen::backoff;
    }
    int linked = 0;
    bool busy = true;
    for (const auto& c : pool) {
        // A retired link is on its way out (its replacement is what we decide about here).
        if (c.retired) {
            continue;
        }
        if (!c.linked) {
            // One attempt at a time: a peer that is slow to answer is not flooded with SYNs.
            return PoolOpen::attempt_under_way;
        }
        ++linked;
        busy = busy && full(c, limits.pipeline_depth);
    }
    return linked == 0 || (busy && linked < limits.max_connections) ? PoolOpen::open
                                                                    : PoolOpen::enough;
}

bool upgrade_probe_due(std::span<const PoolConn> pool, bool have_certificate,
                       std::chrono::steady_clock::time_point now,
                       std::chrono::steady_clock::time_point next_probe) {
    if (!have_certificate || now < next_probe) {
        return false;
    }
    bool plaintext = false;
    for (const auto& c : pool) {
        if (!c.linked) {
            return false; // an attempt is under way already (perhaps the last probe)
        }
        plaintext = plaintext || (c.mode == Mode::insecure && !c.retired);
    }
    return plaintext;
}

bool should_retire(const PoolConn& conn, RetireScope scope) {
    return !conn.retired && (scope == RetireScope::all || conn.mode == Mode::insecure);
}

bool close_retired(const PoolConn& conn) { return conn.retired && conn.in_flight == 0; }

bool probe_liveness(const PoolConn& conn) { return conn.linked && !conn.closed; }

} // namespace lon::proto
