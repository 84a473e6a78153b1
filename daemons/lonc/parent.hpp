#pragma once

// The lonc parent. Place in the process tree: one per host, started by loncontrol (or by
// hand). Owns: one listening unix socket per peer in the hosts table (<socket_dir>/<peer>).
// It watches each socket and, when a local client knocks, execs a lonc child for that peer,
// which takes the socket over; when the child exits it watches again (after a backoff if the
// child died abnormally). A peer whose spool holds durable requests gets a child without a
// client knocking: at start, and again (after the backoff) whenever its child ends. It reaps
// every child and forwards USR1 to them. It reads config and credentials from disk (start,
// HUP) and hands each child the set it validated: a sealed memfd at exec (--bundle), the
// same over the child's control channel (--channel, SOCK_SEQPACKET) after each accepted HUP;
// a refused HUP changes nothing anywhere. Each child's set holds only its own host and its
// peer of the hosts table (link::bundle_for_peer), sealed for it when it is sent.
// Title: "lonc: parent <own-id> links: <children>".

#include <map>
#include <memory>
#include <string>

#include <asio.hpp>

#include "config.hpp"
#include "link_metrics.hpp"
#include "metrics_writer.hpp"
#include "reaper.hpp"
#include "throttle.hpp"
#include "unique_fd.hpp"
#include "validated_set.hpp"

namespace lon::lonc {

class Parent final {
public:
    /// Takes `set`'s config and bundle over (moved: one copy of the hosts table).
    Parent(asio::io_context& io, link::ValidatedSet& set, std::map<std::string, UniqueFd> sockets,
           bool foreground);
    Parent(const Parent&) = delete;
    Parent& operator=(const Parent&) = delete;
    ~Parent();

    void start();

private:
    struct Slot;

    void add_slot(const std::string& peer, UniqueFd fd);
    void watch(Slot& slot);
    void spawn(Slot& slot);
    void on_child_exit(pid_t pid, int status);
    void handle_signals();
    void reload();
    void shutdown();
    /// The title now, run_dir/lonc.json (every peer and whether a child serves it) within a
    /// second.
    void update_title();
    void write_status();
    [[nodiscard]] std::filesystem::path status_path() const;
    void forward(int sig);
    /// Whether <spool_dir>/<peer> holds a durable request (then a child is started for it).
    [[nodiscard]] bool spool_pending(const std::string& peer) const;
    /// A sealed memfd with the set for `peer`'s child (validated_set.hpp bundle_for_peer);
    /// invalid (logged) if it cannot be made.
    [[nodiscard]] UniqueFd seal_for(const std::string& peer) const;
    /// <metrics_dir>/lonc.prom: every peer, from its child's status file (or idle).
    [[nodiscard]] std::string render_metrics();
    /// Durable requests in <spool_dir>/<peer> (for a peer whose child is not running).
    [[nodiscard]] long spool_depth(const std::string& peer) const;

    asio::io_context& io_;
    Config config_;
    /// The set validated last, less its hosts table text (link::keep_for_children).
    Bundle bundle_;
    bool foreground_;
    asio::signal_set signals_;
    link::Reaper reaper_;
    asio::steady_timer kill_timer_;
    /// Rewrites lonc.json within a second of a change of its children: it lists every peer of
    /// the table, so a write per child start cost O(table) each, O(table^2) while a cluster
    /// comes up (and a new file on run_dir's file system each time).
    link::Throttle status_writer_;
    std::map<std::string, std::unique_ptr<Slot>> slots_;
    bool stopping_ = false;
    std::optional<std::time_t> own_not_after_; ///< our certificate's, for the metrics
    PeerTotals totals_; ///< per-peer counts across child restarts (metrics)
    link::MetricsWriter metrics_;
};

/// Binds <socket_dir>/<peer> for every peer of `config` (startup; throws on failure).
[[nodiscard]] std::map<std::string, UniqueFd> bind_peer_sockets(const Config& config);

} // namespace lon::lonc
