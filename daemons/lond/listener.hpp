#pragma once

// The lond parent. Place in the process tree: one per host, started by loncontrol (or by
// hand); forks (fork+exec) one lond child per peer host on that peer's first connection.
// Owns: the TCP listener, the hosts table, a control channel to each child.
// Title: "lond: parent <own-id> listening <address>:<port> peers: <children>".
// It reads only the bounded plaintext init line of each connection, checks who claims to
// call and from where, and hands the connection (fd + bytes read) to the peer's child.
// Connections that have not sent their init line yet ("pending inits") are bounded in total
// (limits.max_pending_inits, and what the descriptor limit allows: over it the oldest is
// dropped) and per source address (limits.max_pending_inits_per_address: over it the new one
// is refused). Status file run_dir/lond.json (role "lond-parent", counters).
// It reads config and credentials from disk (start, HUP) and hands each child the set it
// validated: a sealed memfd at exec (--bundle), the same over the child's channel after each
// accepted HUP; a refused HUP changes nothing anywhere (validated_set.hpp). Each child's set
// holds only its own host and its peer of the hosts table (link::bundle_for_peer). A HUP or
// USR2 that takes a table without a peer stops that peer's child (its links close).

#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <asio.hpp>

#include "config.hpp"
#include "counters.hpp"
#include "link_metrics.hpp"
#include "log_throttle.hpp"
#include "metrics_writer.hpp"
#include "negotiation.hpp"
#include "reaper.hpp"
#include "throttle.hpp"
#include "unique_fd.hpp"
#include "validated_set.hpp"

namespace lon::lond {

class InitReader;

class Listener final {
public:
    Listener(asio::io_context& io, link::ValidatedSet& set, UniqueFd listen_fd, bool foreground);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    void start();

    /// Called by an InitReader with a complete init line from `socket`. `bytes` holds every
    /// byte read so far (the line, its '\n' and anything after it).
    void on_init_line(asio::ip::tcp::socket& socket, const std::string& line,
                      std::string bytes);
    /// Called by an InitReader whose connection sent more than an init line's worth.
    void on_bad_init(asio::ip::tcp::socket& socket, const std::string& ip,
                     std::string_view problem);
    /// Called by an InitReader when the handshake timeout passed without an init line.
    void on_init_timeout(const std::string& ip);
    /// Called by an InitReader once its connection is no longer pending (any outcome).
    void untrack(InitReader& reader);
    [[nodiscard]] const Config& config() const { return config_; }

private:
    struct Child {
        pid_t pid = -1;
        UniqueFd channel;
    };

    void do_accept();
    void on_accept_error(const std::error_code& ec);
    /// Starts reading the init line of a fresh connection, within the pending-init caps.
    void admit(asio::ip::tcp::socket socket);
    /// Drops the oldest pending-init connection (counted as pending_evicted); false if none.
    bool evict_oldest(std::string_view why);
    /// The total pending-init cap in force: limits.max_pending_inits, lowered to what the
    /// descriptor limit leaves after a reserve for everything else.
    [[nodiscard]] std::size_t pending_cap() const;
    /// Counts `what` and logs `message` unless a line with the same key was logged within
    /// the last interval (then the next line carries the number suppressed).
    void note(std::string_view counter, const std::string& key, const std::string& message,
              bool warning = true);
    void mark_changed();
    void write_status();
    void handle_signals();
    [[nodiscard]] std::optional<proto::Refusal> check(const proto::InitLine& init,
                                                      const std::string& ip) const;
    void refuse(asio::ip::tcp::socket& socket, proto::Refusal reason);
    /// A connection claimed `host`, whose name did not resolve: resolve it again in the
    /// background (at most every 10 s per host); the claim is refused meanwhile.
    void retry_resolve(const Host& host);
    void hand_off(const std::string& peer, asio::ip::tcp::socket& socket,
                  const std::string& bytes);
    Child* spawn_child(const std::string& peer);
    void on_child_exit(pid_t pid, int status);
    /// HUP and USR2: config, hosts table and credentials again (see listener.cpp).
    void reload();
    /// A sealed memfd with the set for `peer`'s child; invalid (logged) if it cannot be made.
    [[nodiscard]] UniqueFd seal_for(const std::string& peer) const;
    void shutdown();
    void update_title();
    /// <metrics_dir>/lond.prom: every peer of the table, from its child's status file (or
    /// idle), and the refusals by reason.
    [[nodiscard]] std::string render_metrics();

    asio::io_context& io_;
    Config config_;
    Bundle bundle_; ///< the set validated last, less its hosts text (link::keep_for_children)
    bool foreground_;
    asio::ip::tcp::acceptor acceptor_;
    asio::signal_set signals_;
    link::Reaper reaper_;
    asio::steady_timer kill_timer_;
    std::map<std::string, Child> children_;
    bool stopping_ = false;

    std::list<std::shared_ptr<InitReader>> pending_; ///< oldest first
    std::map<std::string, std::size_t, std::less<>> pending_by_ip_;
    std::size_t descriptor_limit_ = 0; ///< soft RLIMIT_NOFILE at start
    std::size_t lowered_cap_ = 0;      ///< pending cap learnt from EMFILE (0: none) ...
    std::chrono::steady_clock::time_point lowered_until_{}; ///< ... in force until then
    asio::steady_timer accept_timer_;  ///< pause after an accept error
    Counters counters_;
    LogThrottle log_throttle_;
    link::Throttle status_writer_; ///< rewrites lond.json at most once a second
    asio::ip::tcp::resolver resolver_;
    /// Hosts without an address: when their name may be resolved again.
    std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> resolve_after_;
    std::optional<std::time_t> own_not_after_; ///< our certificate's, for the metrics
    PeerTotals totals_; ///< per-peer counts across child restarts (metrics)
    /// The peers' certificate expiry as their children last reported it.
    std::map<std::string, std::time_t, std::less<>> peer_not_after_;
    link::MetricsWriter metrics_;
};

} // namespace lon::lond
