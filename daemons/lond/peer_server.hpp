#pragma once

// The lond child for one peer host. Place in the process tree: exec'd by the lond parent on
// that peer's first connection; ends when the parent tells it to (TERM) or goes away.
// Owns: every connection from that peer (handed over fd by fd on the control channel).
// Title: "lond: <peer> Connection count: <n> (<mode>)". Status file run_dir/lond.<peer>.json.
// Config and credentials: those its parent validated (--bundle at exec, then each accepted
// HUP as a bundle packet on the control channel); it never reads them from disk.

#include <ctime>
#include <set>
#include <string>

#include <asio.hpp>

#include "config.hpp"
#include "counters.hpp"
#include "critical_log.hpp"
#include "handler_pool.hpp"
#include "log_throttle.hpp"
#include "request_limiter.hpp"
#include "roster_file.hpp"
#include "throttle.hpp"
#include "tls_credentials.hpp"
#include "unique_fd.hpp"
#include "validated_set.hpp"

namespace lon::lond {

class Session;

class PeerServer final {
public:
    PeerServer(asio::io_context& io, link::ValidatedSet& set, std::string peer, UniqueFd channel);
    PeerServer(const PeerServer&) = delete;
    PeerServer& operator=(const PeerServer&) = delete;

    void start();

    [[nodiscard]] asio::io_context& io() { return io_; }
    [[nodiscard]] const Config& config() const { return config_; }
    [[nodiscard]] const std::string& peer() const { return peer_; }
    /// Our usable TLS credentials, or nullptr (no certificate, or the clock says it is not
    /// valid now). Asked at each negotiation, so a certificate unusable while the clock was
    /// wrong is used again as soon as it is right, without a reload.
    [[nodiscard]] const link::TlsCredentials* tls();
    /// Whether the cluster CA's roster lists the peer as holding an unexpired certificate.
    [[nodiscard]] bool peer_on_roster() const;

    [[nodiscard]] CriticalLog& critical() { return critical_; }
    /// Bounds lond.handler requests (lond.max_handler_requests, lond.max_handler_queue).
    [[nodiscard]] link::RequestLimiter& handlers() { return handlers_; }
    /// Persistent connections to lond.handler (lond.handler_connections).
    [[nodiscard]] link::HandlerPool& handler_pool() { return handler_pool_; }

    /// Counts a limit hit or timeout; shown under "counters" in the status file (rewritten
    /// within a second).
    void count(std::string_view what, std::uint64_t n = 1);
    /// Counts a request answered ("requests", without a lookup by name). `quietly`: without
    /// rewriting the status file for it (shown with the next rewrite): for pings, so that a
    /// keepalive costs an idle child no extra wakeup.
    void count_request(bool quietly);

    /// Records `what` as the last error with this peer (status file, within a second).
    void note_error(std::string what);
    /// The peer's certificate notAfter, from an ssl session's verified certificate.
    void note_peer_not_after(std::time_t t) { peer_not_after_ = t; }

    void on_session_linked(Session& session);
    /// The peer presented a certificate our CRL lists: from now on this child refuses it
    /// insecure links too (`refused:revoked`), whatever lond.allow_insecure says.
    void set_peer_revoked() { peer_revoked_ = true; }
    [[nodiscard]] bool peer_revoked() const { return peer_revoked_; }
    void on_session_closed(Session& session);

private:
    void do_receive();
    void accept_handoff();
    /// One hand-off could not be taken (truncated, no descriptor, not adoptable): that
    /// connection is dropped, counted and logged (throttled); the child goes on.
    void handoff_failed(const std::string& why);
    void handle_signals();
    void shutdown();
    /// Sets the title from the connections; a change of it asks for the status file.
    void publish();
    void write_status();
    /// "ssl" or "insecure": the weakest of the linked connections, or the last ones' mode.
    std::string_view mode();
    void revive_local_lonc();
    /// Closes sessions that have received nothing for lond.idle_timeout (a peer that lost
    /// power or rebooted leaves half-open connections behind; a live lonc pings every
    /// keepalive). Armed at the earliest deadline of the linked sessions; `again` re-arms a
    /// timer already armed (lond.idle_timeout changed).
    void arm_idle_sweep(bool again = false);
    void sweep_idle();
    /// Takes the configuration and credentials of a bundle the parent validated (and
    /// re-reads the CA roster).
    void apply_bundle(Bundle bundle);
    /// After a reload: closes plaintext sessions of a peer the roster now lists.
    void drop_plaintext_if_listed();

    asio::io_context& io_;
    Config config_;
    std::string peer_;
    asio::posix::stream_descriptor channel_;
    asio::signal_set signals_;
    std::optional<link::TlsCredentials> tls_;
    bool tls_usable_ = true; ///< at the last tls(): logs each change once
    link::RosterKeeper roster_; ///< the CA's list of hosts with certificates (reloaded with tls_)
    CriticalLog critical_;
    link::RequestLimiter handlers_;
    link::HandlerPool handler_pool_;
    LogThrottle log_throttle_;
    asio::steady_timer retry_timer_; ///< pause after a transient control-channel error
    std::set<Session*> linked_;
    Counters counters_;
    Counters::Slot requests_; ///< counted for every request: no lookup by name
    /// Rewrites the status file at most once a second, the first a second after the start
    /// (a child that links at once writes it once); a change after a quiet second at once.
    link::Throttle status_writer_;
    asio::steady_timer idle_timer_;
    bool idle_sweep_armed_ = false;
    std::string last_title_;
    /// The mode of the connections last seen ("insecure" until the first one negotiates).
    std::string_view last_mode_ = "insecure";
    bool stopping_ = false;
    bool peer_revoked_ = false;
    std::string last_error_;
    std::time_t last_error_at_ = 0; ///< unix seconds; 0: no error yet
    std::time_t peer_not_after_ = 0; ///< 0: no ssl session yet
};

/// The TLS context a lond child builds from a bundle (at start and at each new bundle): it
/// accepts, so only the server one.
inline constexpr link::TlsContexts child_tls_contexts = link::TlsContexts::server_only;

/// Entry point of the lond child role (after exec). Returns the process exit code.
int run_peer_server(link::ValidatedSet& set, const std::string& peer, int channel_fd);

} // namespace lon::lond
