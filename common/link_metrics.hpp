#pragma once

// What a daemon parent publishes in <metrics_dir>/<daemon>.prom: its own numbers and, per
// peer, what that peer's child last wrote in its status file (run_dir/<daemon>.<peer>.json).
// Pure: parsing and formatting only; the parents read and write the files.

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lon {

/// The counters of a peer that keep counting across that peer's child processes.
struct PeerCounts {
    std::uint64_t requests = 0, con_lost = 0, critical_spooled = 0, critical_delivered = 0;
    std::map<std::string, std::uint64_t, std::less<>> refusals; ///< by reason
};

/// One peer's link as one daemon sees it.
struct PeerMetrics {
    std::string peer;
    long pid = 0;               ///< the process that wrote the status file (0: not said)
    std::string state = "idle"; ///< idle, connecting, linked, dead
    std::string mode;           ///< ssl, insecure, or "" with no connection
    long connections = 0;
    std::optional<long> retries_remaining; ///< lonc only
    std::optional<long> spool_depth;       ///< lonc only
    std::optional<std::time_t> peer_cert_not_after;
    PeerCounts counts;
};

/// A daemon parent's numbers.
struct DaemonMetrics {
    std::string daemon; ///< "lond" or "lonc"
    long children = 0;
    std::map<std::string, std::uint64_t, std::less<>> refusals; ///< by reason
    std::optional<std::time_t> own_cert_not_after;
    std::vector<PeerMetrics> peers;
};

/// The lonc child counters that count refused local requests (reason = counter name).
[[nodiscard]] const std::vector<std::string_view>& lonc_refusal_reasons();

/// Reads a child's one-line JSON status file (as written by the lonc and lond children).
/// Returns nothing for text that is not such an object.
[[nodiscard]] std::optional<PeerMetrics> parse_peer_status(std::string_view json);

/// A flat view of a JSON object: "key" -> value text (strings unescaped, numbers, true,
/// false, null as written); nested objects flattened as "outer.inner". Arrays are skipped.
/// Nothing for malformed text.
[[nodiscard]] std::optional<std::map<std::string, std::string, std::less<>>>
parse_flat_json(std::string_view json);

/// The whole .prom file for `m`.
[[nodiscard]] std::string format_metrics(const DaemonMetrics& m);

/// Per-peer counters that survive the peer's child: a child's counters start from zero, so
/// what a child had counted when it ended is kept as a base the next child's counts add to.
class PeerTotals {
public:
    /// The latest counts read from the running child of `peer`.
    void observe(const std::string& peer, const PeerCounts& counts);
    /// The child of `peer` ended: its last counts become part of the base.
    void retire(const std::string& peer);
    /// `peer` left the hosts table.
    void forget(const std::string& peer);
    /// Base plus the running child's latest counts.
    [[nodiscard]] PeerCounts total(const std::string& peer) const;

private:
    std::map<std::string, PeerCounts, std::less<>> base_, current_;
};

} // namespace lon
