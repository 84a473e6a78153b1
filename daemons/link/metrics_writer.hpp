#pragma once

// metrics_dir (issue 10 §6): a daemon parent rewrites <metrics_dir>/<daemon>.prom every
// metrics_period, atomically (temp file + rename), for node_exporter's textfile collector.
// One timer per parent and nothing else: its children are not woken for it (the parent
// reads the status files they already write), and without metrics_dir there is no timer.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <asio.hpp>

#include "link_metrics.hpp"
#include "log_throttle.hpp"

namespace lon::link {

/// How often a .prom file is rewritten (documented in docs/status-and-metrics.md).
inline constexpr std::chrono::seconds metrics_period{5};

class MetricsWriter final {
public:
    /// `render` makes the file's text (called once per period, in the io thread).
    MetricsWriter(asio::io_context& io, std::string daemon, std::function<std::string()> render);
    MetricsWriter(const MetricsWriter&) = delete;
    MetricsWriter& operator=(const MetricsWriter&) = delete;

    /// Starts, moves or stops the writing (start and each accepted reload): `dir` unset
    /// stops it and removes the file written before. The first file is written at once.
    void configure(const std::optional<std::filesystem::path>& dir);
    /// Clean stop: no more writes, and the file is removed (a stopped daemon has no metrics;
    /// the collector then drops them rather than repeat stale values).
    void stop();

private:
    void tick();
    void arm();
    [[nodiscard]] std::filesystem::path file() const;

    asio::steady_timer timer_;
    std::string daemon_;
    std::function<std::string()> render_;
    std::optional<std::filesystem::path> dir_;
    LogThrottle log_throttle_{std::chrono::minutes(10)};
};

/// A child's status file (run_dir/<daemon>.<peer>.json) as metrics; nothing when it is
/// absent or unreadable (the child is starting or just ended).
[[nodiscard]] std::optional<PeerMetrics> read_peer_status(const std::filesystem::path& file);

} // namespace lon::link
