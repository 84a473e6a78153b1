#pragma once

// The lonc child for one peer host. Place in the process tree: exec'd by the lonc parent when
// the first local client connects to <socket_dir>/<peer>; takes that listening socket over;
// exits (status 0) after idle_timeout without clients, requests or traffic, and the parent
// watches the socket again.
// Owns: the local clients, the request queue, a pool of up to max_connections links to the
// peer's lond, the peer's retry budget and DEAD state.
// Title: "lonc: <peer> Connecting Retries remaining: <r>" /
//        "lonc: <peer> Connection count: <n> Retries remaining: <r> (<mode>)" /
//        "lonc: <peer> >>> DEAD !!!! <<< next probe in <s>s".
// Status: reply to "lonc:status" and run_dir/lonc.<peer>.json.
// Config and credentials: those its parent validated (--bundle at exec, then each accepted
// HUP over the control channel, --channel); it never reads them from disk.
// Files: peer_child.cpp (clients, queue, links, timer, signals), peer_child_credentials.cpp
// (certificate, roster, reloads), peer_child_critical.cpp (durable requests),
// peer_child_status.cpp (title and status).

#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <asio.hpp>

#include "config.hpp"
#include "counters.hpp"
#include "log_throttle.hpp"
#include "negotiation.hpp"
#include "peer_health.hpp"
#include "pool_policy.hpp"
#include "wakeup.hpp"
#include "pending_request.hpp"
#include "roster_file.hpp"
#include "spool.hpp"
#include "tls_credentials.hpp"
#include "unique_fd.hpp"
#include "validated_set.hpp"

namespace lon::lonc {

class LocalSession;
class OutboundConn;

class PeerChild final {
public:
    using clock = std::chrono::steady_clock;

    PeerChild(asio::io_context& io, link::ValidatedSet& set, std::string peer,
              UniqueFd listen_fd, UniqueFd channel);
    PeerChild(const PeerChild&) = delete;
    PeerChild& operator=(const PeerChild&) = delete;
    ~PeerChild();

    void start();
    /// Exit code for main once io.run() returns.
    [[nodiscard]] int exit_code() const { return exit_code_; }

    [[nodiscard]] const Config& config() const { return config_; }
    /// This side's negotiation policy towards the peer.
    [[nodiscard]] proto::Policy policy() const;
    /// The peer presented a certificate our CRL lists: this child never offers or accepts
    /// plaintext with it from now on.
    void set_peer_revoked() { peer_revoked_ = true; }
    /// Records `what` as the link's last error (status file).
    void note_error(std::string what);
    /// Our usable TLS credentials, or nullptr (no certificate, or the clock says it is not
    /// valid: see recheck_tls).
    [[nodiscard]] const link::TlsCredentials* tls() const {
        return tls_ && tls_usable_ ? &*tls_ : nullptr;
    }

    /// Counts a limit hit or timeout; shown under "counters" in the status (written within
    /// a second).
    void count(std::string_view what, std::uint64_t n = 1);
    void count(Counters::Slot what, std::uint64_t n = 1); ///< the same, without a lookup

    /// Logs a warning for `key`, at most one line per key every few seconds (with the number
    /// of occurrences left out).
    void warn_throttled(std::string_view key, const std::string& text);
    /// Logs why no offer can be made (no certificate and plaintext forbidden) and the fix.
    void log_no_offer();

    // From local clients.
    void on_local_opened(LocalSession& session);
    void on_local_closed(LocalSession& session);
    /// `session` has nothing outstanding any more: it may be closed client_idle_timeout after
    /// its last request.
    void on_local_reusable(LocalSession& session);
    /// The queue holds lonc.max_queued requests: local clients are not read meanwhile.
    [[nodiscard]] bool queue_full() const { return queue_.size() >= config_.lonc.max_queued; }
    /// `session` is held back by a full queue: tell it when the queue drains.
    void wait_for_queue(LocalSession& session);
    /// Queues a request for the peer; `done` gets the reply or con_lost, exactly once.
    void submit(std::string line, PendingRequest::Done done);
    /// Answers a "lonc:..." line other than lonc:critical.
    [[nodiscard]] std::string local_command(const std::string& line);
    /// lonc:critical:<request>: spools it durably (con_failed if that fails), then answers the
    /// peer's reply, or con_delayed when it cannot be delivered now (it will be, later).
    void submit_critical(std::string request, PendingRequest::Done done);

    // From links.
    void on_linked(OutboundConn& conn);
    void on_reply(OutboundConn& conn);
    /// Our keepalive ping on `conn` was answered: its next ping is a keepalive from now.
    void on_keepalive_answered(OutboundConn& conn);
    void on_conn_closed(OutboundConn& conn);

private:
    void do_accept();
    void on_accept_error(const std::error_code& ec);
    /// Closes the local session idle longest with nothing outstanding; false if none.
    bool drop_idlest_local();
    void close_idle_locals(clock::time_point now);
    /// Lets sessions held back by the queue bound read again once it has room.
    void queue_drained();
    void handle_signals();
    /// Everything due now (timeouts, keepalives, retries, certificate checks, spool, idle
    /// exit, title), then the timer is armed for the next deadline.
    void on_wakeup();
    /// What proto::next_wakeup needs to know, now.
    [[nodiscard]] proto::WakeupInput wakeup_input(clock::time_point now) const;
    /// Arms the timer at the next deadline (computed afresh): after a change of state that
    /// may bring a deadline nearer or push the armed one back.
    void reschedule();
    /// A new deadline `at` (a request queued): the timer wakes by then at the latest.
    void wake_by(clock::time_point at);
    void arm(clock::time_point at);
    /// Nothing holds the child: no local client, nothing queued, in flight or spooled.
    [[nodiscard]] bool unheld() const;
    /// A request for the peer joins the queue; the timer wakes by its deadline.
    void enqueue(RequestPtr request);
    /// The pool wants another connection and may open one once the backoff allows.
    [[nodiscard]] bool wants_connection(clock::time_point now) const;
    /// The pool as proto/pool_policy.hpp sees it, in the order of conns_; valid until the
    /// next call (one kept vector: it is asked for each request handed to a link).
    [[nodiscard]] std::span<const proto::PoolConn> pool_view() const;
    /// Hands queued requests to links (pick_connection), then maybe_connect.
    void pump();
    void pump(clock::time_point now); ///< the same, with the clock already read
    /// Opens another link when the pool policy says so (decide_open), unless stopping or idle.
    void maybe_connect();
    void maybe_connect(clock::time_point now);
    /// A request reached a DEAD link: bring the probe forward (PeerHealth::on_demand).
    void demand_probe();
    void open_connection(bool upgrade_probe = false);
    void fail_queue();
    /// Fails queued requests past their deadline; probes every link and closes the ones
    /// whose peer stopped answering (proto/link_liveness.hpp).
    void expire_requests(clock::time_point now);
    void check_links(clock::time_point now);
    [[nodiscard]] bool idle(clock::time_point now) const;
    [[nodiscard]] int linked_count() const;
    [[nodiscard]] std::string status_json() const;
    /// Whole seconds (rounded up) until the next DEAD probe.
    [[nodiscard]] long seconds_to_probe(clock::time_point now) const;
    /// "ssl" or "insecure": the weakest mode among the linked connections.
    [[nodiscard]] std::string_view link_mode() const;
    /// The title, set when what it shows has changed; the status file when it lags and the
    /// last write is a second old (else a wakeup at status_due() writes it).
    void publish();
    /// Both at once, whatever was written before (after a reload, a revive, USR1).
    void republish();
    /// The status file lags what the title, the counters or the last error show.
    [[nodiscard]] bool status_stale() const;
    /// run_dir/lonc.<peer>.json
    [[nodiscard]] std::filesystem::path status_path() const;
    [[nodiscard]] clock::time_point status_due() const {
        return published_at_ + std::chrono::seconds(1);
    }
    void stop(int code);
    /// Takes credentials from a set the parent validated. When they changed, existing links
    /// are retired (replaced without failing a request).
    void adopt_tls(std::optional<link::TlsCredentials> creds);
    /// Whether our certificate is within its dates now (checked at every wakeup and
    /// connection attempt, at least once per lonc.keepalive): a clock that was
    /// wrong and is right again brings the certificate back, and the link with it (a DEAD
    /// link is revived, retries reset), without a HUP.
    /// `connect`: open a connection at once when the certificate came back (not from
    /// open_connection itself).
    void recheck_tls(bool connect = true);
    /// Sets tls_usable_ for the clock now, with a warning when the certificate is not valid.
    void note_unusable_tls();
    /// Control channel from the parent: a bundle (validated_set.hpp) after each accepted HUP.
    void watch_channel();
    void on_channel();
    void apply_bundle(Bundle bundle);
    /// After new credentials: links whose peer the new CRL lists are closed (con_lost).
    void close_revoked_links();
    /// Retires the links `scope` takes (should_retire); closes the retired ones with nothing
    /// in flight at once, the others once their last reply is in.
    void retire_links(proto::RetireScope scope, const std::string& why);
    void check_certificates(clock::time_point now);
    /// While a link is plaintext and we have a certificate, try ssl again now and then: the
    /// peer may have gained a certificate since (the seed scenario converges by itself).
    void try_upgrade(clock::time_point now);
    /// Sends spooled durable requests that are not in flight (oldest first).
    void flush_spool();
    void send_critical(const std::string& id, const std::string& request,
                       PendingRequest::Done client_done);
    /// The peer answered durable request `id` (its reply is final): off the spool, then
    /// acknowledged so that the peer can drop its record.
    void critical_done(const std::string& id, std::string_view reply);
    /// Sends the acknowledgements due (critical_ack, up to 64 ids a line) on a link.
    void send_acks();
    [[nodiscard]] bool linked_now() const;

    asio::io_context& io_;
    Config config_;
    std::string peer_;
    const Host* peer_host_ = nullptr;
    asio::local::stream_protocol::acceptor acceptor_;
    asio::signal_set signals_;
    /// The one timer of the child: armed at the next deadline (proto/wakeup.hpp), never on a
    /// fixed period, so an idle child sleeps until its keepalive.
    asio::steady_timer wake_timer_;
    clock::time_point armed_at_ = clock::time_point::max(); ///< max: not armed
    clock::time_point last_wakeup_{};
    clock::time_point next_recheck_{}; ///< the wall-clock checks, at least once per keepalive
    proto::PeerHealth health_;
    std::mt19937 rng_;
    std::optional<link::TlsCredentials> tls_;
    bool tls_usable_ = false; ///< tls_ within its validity dates at the last recheck_tls
    link::RosterKeeper roster_; ///< the CA's list of hosts with certificates (reloaded with tls_)
    std::uint64_t tls_generation_ = 0;
    bool peer_revoked_ = false; ///< the peer showed a certificate our CRL lists
    clock::time_point next_own_expiry_warning_{};
    clock::time_point next_peer_expiry_warning_{};
    clock::time_point next_upgrade_{};
    clock::time_point next_flush_{};
    Spool spool_;
    /// Spooled ids sent and not answered yet, or answered and being removed: never resent.
    std::set<std::string> critical_in_flight_;
    /// Ids removed from the spool, to acknowledge to the peer (bounded by lonc.max_spooled;
    /// a lost acknowledgement only leaves a record to lond.critical_retention).
    std::deque<std::string> acks_;
    bool ack_in_flight_ = false;
    std::vector<std::shared_ptr<OutboundConn>> conns_;
    std::deque<RequestPtr> queue_;
    /// Every open local session, owned here (a session held back by a bound, or half-closed
    /// and waiting for its replies, has no read pending to keep it alive).
    std::map<LocalSession*, std::shared_ptr<LocalSession>> locals_;
    std::vector<std::weak_ptr<LocalSession>> queue_waiters_;

    clock::time_point last_activity_;
    Counters counters_;
    Counters::Slot requests_; ///< counted for every answer: no lookup by name
    Counters::Slot con_lost_;
    asio::posix::stream_descriptor channel_; ///< from the parent: bundles after each HUP
    asio::steady_timer accept_timer_;
    LogThrottle log_throttle_;
    std::string last_title_;
    /// What the title was made from (publish formats it again only when these change).
    struct TitleInputs {
        proto::PeerHealth::State state{};
        int linked = -1;
        int retries = -1;
        bool insecure = false;
        long seconds_to_probe = 0; ///< only while dead
        bool operator==(const TitleInputs&) const = default;
    };
    TitleInputs last_title_inputs_;
    mutable std::vector<proto::PoolConn> pool_view_; ///< pool_view()'s room
    /// The last failure to link or of a link (as logged), and when (unix seconds; 0: none):
    /// shown by loncontrol status.
    std::string last_error_;
    std::time_t last_error_at_ = 0;
    std::time_t published_error_at_ = 0;
    /// The peer's certificate notAfter as last seen on an ssl link (0: never).
    std::time_t peer_not_after_ = 0;
    std::uint64_t published_counters_ = 0; ///< counters_.version() in the last status file
    /// The last write of the status file; the start counts as one (publish()).
    clock::time_point published_at_ = clock::now();
    bool status_stale_ = true; ///< the title moved since the last write
    bool stopping_ = false;
    int exit_code_ = 0;
};

/// The TLS context a lonc child builds from a bundle (at start and at each new bundle): it
/// connects, so only the client one.
inline constexpr link::TlsContexts child_tls_contexts = link::TlsContexts::client_only;

/// Entry point of the lonc child role (after exec). Returns the process exit code.
int run_peer_child(link::ValidatedSet& set, const std::string& peer, int listen_fd,
                   int channel_fd);

} // namespace lon::lonc
