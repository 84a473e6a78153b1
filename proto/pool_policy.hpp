#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>

#include "negotiation.hpp"

/// The pool decisions of a lonc child: which link carries the next queued request, when
/// another link is opened, when a plaintext link is worth an ssl attempt, which links are
/// retired, closed once retired, or probed for liveness. Pure: the owner passes a view of its
/// connections (in pool order) and acts on the answer; the clock is passed in.
/// The retry budget and backoff are PeerHealth's (peer_health.hpp); the liveness probe itself
/// is check_link_liveness (link_liveness.hpp).
namespace lon::proto {

/// What the pool decisions need to know about one connection.
struct PoolConn {
    bool linked = false;        ///< negotiation done: it can carry requests
    bool retired = false;       ///< takes no new request; closes once its last reply is in
    bool closed = false;        ///< closed, not yet removed from the pool
    std::size_t in_flight = 0;  ///< client requests sent on it and not answered yet
    Mode mode = Mode::insecure; ///< as negotiated (a connection still negotiating says insecure)
};

/// In-flight requests per link before another link of the pool is opened. Why 64 (it was
/// 16): a child is one thread at either end, so more links add no parallelism of their own,
/// and spreading a burst over them costs a TLS record, a send and a wakeup per link. Measured
/// (bench/ab, 5 rounds, bench/README "pipeline depth"): 64 concurrent clients +13 %, 32
/// pipelined on one connection via the handler +20 %, CPU per request 10-30 % less; one
/// case went down (32 pipelined built-in echoes, -5 to -7 %: two links let the two
/// children overlap).
inline constexpr std::size_t lonc_pipeline_depth = 64;

struct PoolLimits {
    int max_connections = 3; ///< lonc.max_connections
    /// Requests in flight on every link before another opens.
    std::size_t pipeline_depth = lonc_pipeline_depth;
};

/// The connection that takes the next queued request, among those linked, open and not
/// retired: the first (oldest) with fewer than `pipeline_depth` requests in flight; when every
/// one has that many, the one with the fewest (the first on a tie); none when no connection
/// can take it. Filling one link before the next, not spreading: both ends of a link are
/// single-threaded processes, so a request spread to a second link buys no parallelism and
/// costs a TLS record, a send and a wake-up at each end (bench/README "links filled in
/// order").
[[nodiscard]] std::optional<std::size_t> pick_connection(std::span<const PoolConn> pool,
                                                         std::size_t pipeline_depth);

enum class PoolOpen {
    open,              ///< open one more connection now
    enough,            ///< a link has room, or max_connections links are busy
    attempt_under_way, ///< a connection (not retired) is still negotiating: one at a time
    backoff            ///< the peer's retry backoff (or DEAD probe time) has not passed
};

/// Whether to open another connection. Retired connections do not count: they neither hold
/// an attempt back nor count towards max_connections. Another connection opens when none is
/// linked, or when every linked one has pipeline_depth requests in flight and there are fewer
/// than max_connections. `may_attempt` is PeerHealth::may_attempt(now).
[[nodiscard]] PoolOpen decide_open(std::span<const PoolConn> pool, const PoolLimits& limits,
                                   bool may_attempt);

/// Whether to make an ssl attempt beside a plaintext link now: we have a usable certificate,
/// `now` has reached `next_probe` (the owner sets it one interval, lonc.keepalive, after each
/// probe), no connection of the pool (retired or not) is still negotiating, and a linked
/// connection that is not retired is plaintext. The peer may have gained a certificate since.
[[nodiscard]] bool upgrade_probe_due(std::span<const PoolConn> pool, bool have_certificate,
                                     std::chrono::steady_clock::time_point now,
                                     std::chrono::steady_clock::time_point next_probe);

enum class RetireScope {
    all,          ///< every connection (credentials changed, our certificate went invalid)
    insecure_only ///< plaintext ones (an ssl link replaces them, or ssl is worth a new try)
};

/// Whether a retirement of `scope` retires this connection: not yet retired and in scope. A
/// connection still negotiating counts as insecure, so it is retired by either scope: its
/// offer was made under the policy before the change (a roster that now lists the peer, new
/// credentials), and only a fresh attempt is sure to follow the new one. The cost is one
/// attempt started again.
[[nodiscard]] bool should_retire(const PoolConn& conn, RetireScope scope);

/// A retired connection with nothing in flight is closed: its replacement takes the traffic.
[[nodiscard]] bool close_retired(const PoolConn& conn);

/// Connections checked for liveness on schedule (check_link_liveness): linked and open.
[[nodiscard]] bool probe_liveness(const PoolConn& conn);

} // namespace lon::proto
