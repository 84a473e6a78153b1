#include "peer_child.hpp"

#include <algorithm>
#include <csignal>
#include <ctime>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "heap.hpp"
#include "host_port.hpp"
#include "local_session.hpp"
#include "log.hpp"
#include "net.hpp"
#include "outbound_conn.hpp"
#include "pin_store.hpp"
#include "proctitle.hpp"
#include "replies.hpp"

namespace lon::lonc {
namespace {

proto::HealthPolicy health_policy(const Config& cfg) {
    return {cfg.lonc.retries, cfg.lonc.backoff_initial, cfg.lonc.backoff_max,
            cfg.lonc.stable_after};
}

} // namespace

PeerChild::PeerChild(asio::io_context& io, link::ValidatedSet& set, std::string peer,
                     UniqueFd listen_fd, UniqueFd channel)
    : io_(io), config_(set.config), peer_(std::move(peer)),
      peer_host_(config_.hosts.find(peer_)), acceptor_(io), signals_(io), wake_timer_(io),
      health_(health_policy(config_), clock::now()), rng_(std::random_device{}()),
      spool_(io, config_.paths.spool_dir / peer_, config_.lonc.max_spooled),
      last_activity_(clock::now()),
      counters_{"requests", "con_lost", "critical_spooled", "critical_delivered",
                "keepalive_timeouts", "request_timeouts", "links_lost", "queue_full",
                "client_backpressure", "too_long", "critical_refused", "clients_idle_closed",
                "accept_errors", "clients_dropped", "spool_full", "critical_indeterminate",
                "acks_dropped"},
      requests_(counters_.slot("requests")), con_lost_(counters_.slot("con_lost")),
      channel_(io), accept_timer_(io), log_throttle_(std::chrono::seconds(10)) {
    acceptor_.assign(asio::local::stream_protocol(), listen_fd.release());
    if (channel) {
        channel_.assign(channel.release());
    }
    tls_ = std::move(set.tls.credentials);
}

PeerChild::~PeerChild() = default;

void PeerChild::start() {
    roster_.reload(config_.paths.cert_dir);
    note_unusable_tls();
    watch_channel();
    if (std::size_t n = spool_.load(); n > 0) {
        spdlog::info("{} durable request(s) spooled for {}: delivering them", n, peer_);
    }
    // USR2 only so that its default action does not kill the child (see case SIGHUP).
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) {
        signals_.add(sig);
    }
    handle_signals();
    do_accept();
    next_recheck_ = clock::now() + config_.lonc.keepalive;
    check_certificates(clock::now()); // our own certificate's expiry warning, at start
    maybe_connect();
    publish();
    reschedule();
}

proto::Policy PeerChild::policy() const {
    proto::Policy p;
    p.have_cert = tls_usable_;
    p.allow_insecure = config_.lonc.allow_insecure;
    p.peer_pinned = link::is_pinned(config_.paths.state_dir, peer_);
    p.peer_on_roster = roster_.lists(peer_, std::time(nullptr));
    if (peer_revoked_) {
        p.peer_pinned = true; // revoked: held to ssl (which our CRL refuses), never plaintext
    }
    return p;
}

void PeerChild::do_accept() {
    acceptor_.async_accept([this](std::error_code ec, asio::local::stream_protocol::socket s) {
        if (stopping_ || link::is_shutdown(ec)) {
            return;
        }
        if (ec) {
            on_accept_error(ec);
            return;
        }
        // Non-blocking before the first read: replies are written directly (LineSession's
        // try_write), and set now it spares Asio its own FIONBIO ioctl at the first read
        // (one system call per local connection: a client that connects per request).
        std::error_code nb;
        s.non_blocking(true, nb);
        std::make_shared<LocalSession>(*this, std::move(s))->begin();
        do_accept();
    });
}

/// Never retries at once: out of descriptors, accept fails again at once (a busy loop and a
/// log line per failure). Out of descriptors, the session idle longest with nothing
/// outstanding makes room (as nginx drains reusable connections); otherwise, or for any other
/// error, accepting resumes after a short pause.
void PeerChild::on_accept_error(const std::error_code& ec) {
    count("accept_errors");
    warn_throttled("accept:" + ec.message(), "accept on local socket: " + ec.message());
    // Asio reports errno values in its own category.
    bool out_of_fds = ec == asio::error::no_descriptors ||
                      ec == std::error_code(ENFILE, asio::error::get_system_category());
    if (out_of_fds && drop_idlest_local()) {
        // A descriptor is free now; pending connections get in at once.
        asio::post(io_, [this] {
            if (!stopping_) {
                do_accept();
            }
        });
        return;
    }
    accept_timer_.expires_after(std::chrono::milliseconds(100));
    accept_timer_.async_wait([this](std::error_code tec) {
        if (!tec && !stopping_) {
            do_accept();
        }
    });
}

bool PeerChild::drop_idlest_local() {
    LocalSession* idlest = nullptr;
    for (const auto& [raw, session] : locals_) {
        if (session->reusable() &&
            (idlest == nullptr || session->last_input() < idlest->last_input())) {
            idlest = raw;
        }
    }
    if (idlest == nullptr) {
        return false;
    }
    count("clients_dropped");
    warn_throttled("clients_dropped",
                   "out of file descriptors: closing the idlest local connection");
    idlest->close();
    return true;
}

void PeerChild::close_idle_locals(clock::time_point now) {
    std::vector<std::shared_ptr<LocalSession>> idle;
    for (const auto& [raw, session] : locals_) {
        if (session->reusable() && now - session->last_input() >= config_.lonc.client_idle_timeout) {
            idle.push_back(session);
        }
    }
    for (const auto& session : idle) {
        count("clients_idle_closed");
        spdlog::debug("closing a local connection idle for {} ms",
                      config_.lonc.client_idle_timeout.count());
        session->close();
    }
}

void PeerChild::warn_throttled(std::string_view key, const std::string& text) {
    if (auto suppressed = log_throttle_.admit(key, clock::now())) {
        if (*suppressed > 0) {
            spdlog::warn("{} ({} more since the last such line)", text, *suppressed);
        } else {
            spdlog::warn("{}", text);
        }
    }
}

void PeerChild::on_local_opened(LocalSession& session) {
    locals_.emplace(&session, session.shared_from_this());
    last_activity_ = clock::now();
    wake_by(session.last_input() + config_.lonc.client_idle_timeout);
}

void PeerChild::on_local_reusable(LocalSession& session) {
    wake_by(session.last_input() + config_.lonc.client_idle_timeout);
}

void PeerChild::note_error(std::string what) {
    last_error_ = std::move(what);
    last_error_at_ = std::time(nullptr);
}

void PeerChild::count(std::string_view what, std::uint64_t n) { count(counters_.slot(what), n); }

void PeerChild::count(Counters::Slot what, std::uint64_t n) {
    counters_.add(what, n);
    wake_by(status_due()); // the status file shows it
}

void PeerChild::on_local_closed(LocalSession& session) {
    auto it = locals_.find(&session);
    if (it != locals_.end()) {
        // Released from a fresh handler: we are inside the session's own close().
        asio::post(io_, [keep = std::move(it->second)] {});
        locals_.erase(it);
    }
    last_activity_ = clock::now();
    if (stopping_ && locals_.empty()) {
        io_.stop(); // every answer due has been written
        return;
    }
    if (locals_.empty()) {
        reschedule(); // the idle exit, from now
    }
}

void PeerChild::wait_for_queue(LocalSession& session) {
    queue_waiters_.push_back(session.weak_from_this());
}

void PeerChild::queue_drained() {
    if (queue_waiters_.empty() || queue_full()) {
        return;
    }
    auto waiters = std::move(queue_waiters_);
    queue_waiters_.clear();
    for (const auto& w : waiters) {
        if (auto session = w.lock()) {
            session->apply_bounds(); // resumes from a fresh handler
        }
    }
}

void PeerChild::submit(std::string line, PendingRequest::Done client_done) {
    auto now = clock::now();
    last_activity_ = now;
    if (stopping_ || health_.state() == proto::PeerHealth::State::dead) {
        count("con_lost");
        client_done(proto::replies::con_lost);
        demand_probe();
        return;
    }
    auto request = std::make_shared<PendingRequest>(
        std::move(line), now + config_.lonc.request_timeout, std::move(client_done));
    // Counted as answered: by the peer ("requests") or by lonc itself ("con_lost").
    request->on_answer = [](void* self, std::string_view reply) {
        auto* child = static_cast<PeerChild*>(self);
        child->count(reply == proto::replies::con_lost ? child->con_lost_ : child->requests_);
    };
    request->on_answer_context = this;
    enqueue(std::move(request));
    pump(now);
}

void PeerChild::enqueue(RequestPtr request) {
    auto deadline = request->deadline;
    queue_.push_back(std::move(request));
    wake_by(deadline);
}

std::string PeerChild::local_command(const std::string& line) {
    last_activity_ = clock::now();
    if (line == "lonc:status") {
        return status_json();
    }
    return "error:unknown_lonc_command";
}

int PeerChild::linked_count() const {
    return static_cast<int>(
        std::count_if(conns_.begin(), conns_.end(), [](const auto& c) { return c->linked(); }));
}

std::span<const proto::PoolConn> PeerChild::pool_view() const {
    pool_view_.clear(); // its room is kept: this runs for every request handed to a link
    for (const auto& c : conns_) {
        pool_view_.push_back(pool_conn(*c));
    }
    return pool_view_;
}

/// Hands queued requests to the oldest link with room (pick_connection); asks for another
/// link when all are busy.
void PeerChild::pump() { pump(clock::now()); }

void PeerChild::pump(clock::time_point now) {
    while (!queue_.empty()) {
        // Asked again for each request: sending changes the load, and may close a link.
        auto best = proto::pick_connection(pool_view(), proto::lonc_pipeline_depth);
        if (!best) {
            break;
        }
        RequestPtr request = std::move(queue_.front());
        queue_.pop_front();
        if (!request->finished()) {
            conns_[*best]->send_request(request, now);
        }
    }
    queue_drained();
    maybe_connect(now);
    publish();
}

void PeerChild::demand_probe() {
    if (stopping_ || health_.state() != proto::PeerHealth::State::dead) {
        return;
    }
    auto before = health_.next_attempt();
    health_.on_demand();
    if (health_.next_attempt() == before) {
        return; // the probe is already as early as demand may make it, or under way
    }
    maybe_connect(); // now, if backoff_initial has passed since the last failure
    publish();       // the title's "next probe in <s>s"
    reschedule();    // else the timer wakes for it
}

void PeerChild::maybe_connect() { maybe_connect(clock::now()); }

void PeerChild::maybe_connect(clock::time_point now) {
    if (wants_connection(now) && health_.may_attempt(now)) {
        open_connection();
    }
}

bool PeerChild::wants_connection(clock::time_point now) const {
    if (stopping_ || peer_host_ == nullptr || idle(now)) {
        return false;
    }
    // Asked as if the backoff had passed: the wakeup waits for it (next_attempt).
    return proto::decide_open(pool_view(),
                              {config_.lonc.max_connections, proto::lonc_pipeline_depth},
                              true) == proto::PoolOpen::open;
}

void PeerChild::log_no_offer() {
    // Say which rule forbids plaintext, and the way out: the admin's next step differs.
    auto p = policy();
    std::string why;
    if (!p.allow_insecure) {
        why = "lonc.allow_insecure is false";
    } else if (peer_revoked_) {
        why = peer_ + "'s certificate is revoked (our CRL lists it): it never links plaintext";
    } else if (p.peer_pinned) {
        why = peer_ + " is pinned (it linked ssl before: " +
              (config_.paths.state_dir / "pinned" / peer_).string() +
              "), so plaintext would be a downgrade; install this host's certificate, or run "
              "`loncontrol unpin " + peer_ + "` to allow insecure links with it again";
    } else if (p.peer_on_roster) {
        why = peer_ + " is on the CA roster (" +
              (config_.paths.cert_dir / "loncapaRoster.pem").string() +
              ": it holds a certificate), so plaintext would be a downgrade; install this "
              "host's certificate";
    }
    // Each attempt is paced by the retry backoff, so this cannot flood the log.
    spdlog::error("no way to link to {}: this host has no usable certificate and {}", peer_, why);
    note_error("this host has no usable certificate and " + why);
}

void PeerChild::open_connection(bool upgrade_probe) {
    // The wall clock may have moved since the last wakeup: offer what is valid now (and
    // open just this one connection).
    recheck_tls(false);
    next_recheck_ = clock::now() + config_.lonc.keepalive; // so it falls with the first ping
    if (stopping_ || peer_host_ == nullptr) {
        return;
    }
    auto offer = proto::client_offer(config_.host_id, peer_, policy());
    auto now = clock::now();
    if (!offer) {
        log_no_offer();
        health_.on_attempt_failed(now, std::uniform_real_distribution<double>(0, 1)(rng_));
        fail_queue();
        publish();
        reschedule(); // the next attempt, after the backoff
        return;
    }
    if (peer_host_->resolved.empty()) {
        // Its name did not resolve at load (a DNS outage): try again now; a failure costs
        // an attempt like a refused connection, and the next attempt tries again.
        auto addresses = resolve_address(peer_host_->address);
        if (addresses.empty()) {
            warn_throttled("resolve", fmt::format("cannot link to {}: cannot resolve {}; will "
                                                  "try again",
                                                  peer_, peer_host_->address));
            health_.on_attempt_failed(now, std::uniform_real_distribution<double>(0, 1)(rng_));
            fail_queue();
            publish();
            reschedule(); // the next attempt, after the backoff
            return;
        }
        spdlog::info("{} resolved to {}", peer_host_->address, fmt::join(addresses, ", "));
        config_.hosts.set_resolved(peer_, std::move(addresses));
        peer_host_ = config_.hosts.find(peer_);
    }
    std::error_code ec;
    auto local = asio::ip::make_address(config_.self().resolved.empty()
                                            ? config_.self().address
                                            : config_.self().resolved.front(),
                                        ec);
    asio::ip::address remote_ip;
    for (const auto& r : peer_host_->resolved) {
        auto a = asio::ip::make_address(r, ec);
        if (!ec && (remote_ip.is_unspecified() || a.is_v4() == local.is_v4())) {
            remote_ip = a;
            if (a.is_v4() == local.is_v4()) {
                break;
            }
        }
    }
    auto conn = std::make_shared<OutboundConn>(*this, io_);
    conn->set_generation(tls_generation_);
    if (upgrade_probe) {
        conn->set_upgrade_probe();
    }
    conns_.push_back(conn);
    spdlog::debug("connecting to {} at {}", peer_, host_port(remote_ip.to_string(), peer_host_->port));
    conn->connect(local, asio::ip::tcp::endpoint(remote_ip, peer_host_->port), *offer,
                  proto::negotiation_timeout(config_.limits.handshake_timeout,
                                             config_.lonc.keepalive));
}

void PeerChild::on_linked(OutboundConn& conn) {
    health_.on_linked(clock::now());
    if (conn.retired()) {
        conn.close(); // made with credentials replaced meanwhile; its successor follows
        return;
    }
    if (conn.upgrade_probe() && conn.mode() == proto::Mode::insecure) {
        conn.retire(); // still no ssl with this peer: keep the link we had
        conn.close();
        return;
    }
    if (conn.mode() == proto::Mode::ssl) {
        retire_links(proto::RetireScope::insecure_only, "an ssl link replaces it");
    }
    next_flush_ = {}; // deliver what was spooled while the peer was away
    if (conn.mode() == proto::Mode::ssl) {
        peer_not_after_ = conn.peer_not_after();
    }
    if (conn.mode() == proto::Mode::ssl &&
        !link::pin(config_.paths.state_dir, peer_, conn.peer_subject())) {
        spdlog::error("cannot record the ssl pin for {} under {}", peer_,
                      config_.paths.state_dir.string());
    }
    spdlog::info("link to {} up ({}), {} connection(s)", peer_, proto::to_string(conn.mode()),
                 linked_count());
    // The peer's certificate is known from now: its expiry warning is due now, not at the
    // next wakeup (which an idle link may not have for a keepalive).
    check_certificates(clock::now());
    pump();
    reschedule(); // its keepalive, the spool flush
    link::trim_heap(); // what the negotiation and TLS handshake freed (heap.hpp)
}

void PeerChild::on_reply(OutboundConn& conn) {
    bool first_answer = !health_.answered();
    health_.on_answer();
    if (proto::close_retired(pool_conn(conn))) {
        conn.close(); // its replacement takes the traffic
        return;
    }
    if (!queue_.empty()) {
        pump();
    }
    // The first answer starts the stable_after clock; the last one in flight of a child
    // without clients starts the idle exit. Other replies change no deadline that matters:
    // a keepalive put back by traffic only makes the timer wake early once.
    if (first_answer || (locals_.empty() && conn.in_flight() == 0)) {
        reschedule();
    }
}

void PeerChild::on_keepalive_answered(OutboundConn& conn) {
    on_reply(conn);
    if (!stopping_) {
        reschedule(); // the next ping is a keepalive from now, not at the old deadline
    }
}

void PeerChild::on_conn_closed(OutboundConn& conn) {
    auto it = std::find_if(conns_.begin(), conns_.end(),
                           [&](const auto& c) { return c.get() == &conn; });
    if (it == conns_.end()) {
        return;
    }
    std::shared_ptr<OutboundConn> keep = *it; // alive until this function returns
    conns_.erase(it);
    auto now = clock::now();
    if (stopping_) {
        return;
    }
    if (conn.dead()) {
        // The peer stopped answering without closing: a failed attempt's worth.
        count("links_lost");
        health_.on_link_dead(now, std::uniform_real_distribution<double>(0, 1)(rng_),
                             linked_count());
        bool dead = health_.state() == proto::PeerHealth::State::dead;
        note_error("link closed: " + conn.failure());
        spdlog::warn("link to {} closed: {}; {}", peer_, conn.failure(),
                     dead ? std::string("peer is DEAD")
                          : "retries remaining: " + std::to_string(health_.retries_remaining()));
        if (linked_count() == 0 && dead) {
            fail_queue();
        }
    } else if (conn.upgrade_probe() && !conn.linked()) {
        spdlog::debug("ssl upgrade attempt to {} failed: {}", peer_, conn.failure());
    } else if (conn.retired()) {
        spdlog::debug("retired link to {} closed", peer_);
        if (linked_count() == 0) {
            health_.on_all_links_lost(now);
        }
    } else if (conn.linked()) {
        spdlog::info("link to {} lost: {}", peer_, conn.failure());
        note_error("link lost: " + conn.failure());
        if (linked_count() == 0) {
            health_.on_all_links_lost(now);
        }
    } else {
        bool was_dead = health_.state() == proto::PeerHealth::State::dead;
        health_.on_attempt_failed(now, std::uniform_real_distribution<double>(0, 1)(rng_));
        bool dead = health_.state() == proto::PeerHealth::State::dead;
        note_error("cannot link: " + conn.failure());
        std::string line = fmt::format(
            "cannot link to {}: {}; {}", peer_, conn.failure(),
            dead ? std::string("peer is DEAD")
                 : "retries remaining: " + std::to_string(health_.retries_remaining()));
        if (was_dead) {
            // Probes of a DEAD peer come as often as requests ask for it (demand_probe, at
            // most one per backoff_initial): throttled, they cannot flood the log.
            warn_throttled("dead_probe", line);
        } else {
            spdlog::warn("{}", line);
        }
        if (linked_count() == 0) {
            // Like loncnew: with no link at all, waiting requests fail now rather than hang.
            fail_queue();
        }
    }
    // Reconnect from a fresh stack frame: we may be inside the failed link's own handler.
    asio::post(io_, [this] {
        maybe_connect();
        publish();
        reschedule(); // the backoff, the idle exit
    });
}

void PeerChild::fail_queue() {
    auto failed = std::move(queue_);
    queue_.clear();
    for (auto& r : failed) {
        r->finish(proto::replies::con_lost);
    }
    queue_drained();
}

void PeerChild::arm(clock::time_point at) {
    if (stopping_) {
        return;
    }
    armed_at_ = at;
    wake_timer_.expires_at(at);
    wake_timer_.async_wait([this](std::error_code ec) {
        if (!ec && !stopping_) {
            on_wakeup();
        }
    });
}

void PeerChild::reschedule() {
    if (!stopping_) {
        arm(proto::next_wakeup(wakeup_input(clock::now())));
    }
}

void PeerChild::wake_by(clock::time_point at) {
    if (at < armed_at_) {
        arm(std::max(at, last_wakeup_ + proto::WakeupInput{}.min_gap));
    }
}

proto::WakeupInput PeerChild::wakeup_input(clock::time_point now) const {
    proto::WakeupInput in;
    in.now = now;
    in.last_wakeup = last_wakeup_;
    in.next_recheck = next_recheck_;
    for (const auto& c : conns_) {
        if (proto::probe_liveness(pool_conn(*c))) {
            auto due = c->next_due(config_.lonc.keepalive);
            if (!in.links_due || due < *in.links_due) {
                in.links_due = due;
            }
        }
    }
    if (!queue_.empty()) {
        in.queue_due = queue_.front()->deadline; // expire_requests looks at the front only
    }
    in.connect_wanted = wants_connection(now);
    in.next_attempt = health_.next_attempt();
    in.dead = health_.state() == proto::PeerHealth::State::dead;
    in.budget_restore = health_.budget_restore_at();
    if ((!spool_.empty() || !acks_.empty()) && linked_now()) {
        in.flush_due = next_flush_;
    }
    if (peer_host_ != nullptr &&
        proto::upgrade_probe_due(pool_view(), tls_usable_, std::max(now, next_upgrade_),
                                 next_upgrade_)) {
        in.upgrade_due = next_upgrade_;
    }
    if (unheld()) {
        in.idle_exit = last_activity_ + config_.lonc.idle_timeout;
    }
    for (const auto& [raw, session] : locals_) {
        if (session->reusable()) {
            auto due = session->last_input() + config_.lonc.client_idle_timeout;
            if (!in.local_idle || due < *in.local_idle) {
                in.local_idle = due;
            }
        }
    }
    if (status_stale()) {
        in.status_due = status_due();
    }
    // Certificate ends by the wall clock, as steady instants (a clock jump meanwhile is the
    // re-check's business).
    std::time_t wall = std::time(nullptr);
    auto at_wall = [&](std::time_t t) {
        // Beyond a year is beyond any wakeup that matters (and beyond overflow).
        constexpr std::time_t year = 365L * 24 * 3600;
        return now + std::chrono::seconds(std::min<std::time_t>(t - wall, year));
    };
    auto cert_event = [&](std::time_t t) {
        auto at = at_wall(t);
        if (!in.certificate_end || at < *in.certificate_end) {
            in.certificate_end = at;
        }
    };
    if (tls_ && tls_usable_) {
        cert_event(tls_->not_after);
    } else if (tls_ && wall < tls_->not_before) {
        cert_event(tls_->not_before);
    }
    for (const auto& c : conns_) {
        if (c->linked() && !c->retired() && c->mode() == proto::Mode::ssl) {
            cert_event(std::max(c->peer_not_after(), wall));
        }
    }
    return in;
}

void PeerChild::on_wakeup() {
    auto now = clock::now();
    last_wakeup_ = now;
    armed_at_ = clock::time_point::max();
    next_recheck_ = now + config_.lonc.keepalive;
    health_.tick(now);
    recheck_tls();
    check_certificates(now);
    expire_requests(now);
    check_links(now);
    try_upgrade(now);
    if (now >= next_flush_) {
        next_flush_ = now + std::chrono::seconds(1);
        flush_spool();
    }
    auto conns = conns_;
    for (const auto& c : conns) {
        // One still negotiating closes itself once linked (on_linked).
        if (c->linked() && proto::close_retired(pool_conn(*c))) {
            c->close();
        }
    }
    close_idle_locals(now);
    if (idle(now) && locals_.empty()) {
        spdlog::info("idle for {} ms; exiting", config_.lonc.idle_timeout.count());
        stop(0);
        return;
    }
    maybe_connect();
    publish();
    reschedule();
}

void PeerChild::expire_requests(clock::time_point now) {
    while (!queue_.empty() && queue_.front()->deadline <= now) {
        RequestPtr expired = std::move(queue_.front());
        queue_.pop_front();
        expired->finish(proto::replies::con_lost);
        count("request_timeouts");
    }
    queue_drained();
}

void PeerChild::check_links(clock::time_point now) {
    using Action = proto::LinkLivenessAction;
    auto conns = conns_;
    for (const auto& c : conns) {
        if (!proto::probe_liveness(pool_conn(*c))) {
            continue;
        }
        auto keepalive = config_.lonc.keepalive;
        switch (c->check_liveness(now, keepalive)) {
        case Action::close_keepalive_lost:
            count("keepalive_timeouts");
            c->set_dead(fmt::format("no answer to keepalive within {} ms", keepalive.count()));
            c->close(asio::error::timed_out);
            break;
        case Action::close_request_timeout:
            count("request_timeouts");
            c->set_dead("a request timed out (lonc.request_timeout)");
            c->close(asio::error::timed_out);
            break;
        default:
            break;
        }
    }
}

bool PeerChild::unheld() const {
    if (!locals_.empty() || !queue_.empty() || !spool_.empty()) {
        return false;
    }
    return std::none_of(conns_.begin(), conns_.end(),
                        [](const auto& c) { return c->in_flight() > 0 && c->linked(); });
}

/// Idle: no local client, nothing queued or in flight, no local activity for idle_timeout.
bool PeerChild::idle(clock::time_point now) const {
    return unheld() && now - last_activity_ >= config_.lonc.idle_timeout;
}

void PeerChild::handle_signals() {
    signals_.async_wait([this](std::error_code ec, int sig) {
        if (ec) {
            return;
        }
        switch (sig) {
        case SIGTERM:
        case SIGINT:
            stop(0);
            return;
        case SIGUSR1:
            if (health_.state() == proto::PeerHealth::State::dead) {
                spdlog::info("USR1: reviving the link to {}", peer_);
            }
            health_.revive(clock::now());
            maybe_connect();
            break;
        case SIGHUP:
        case SIGUSR2:
            // The parent forwards HUP after it reopened its own log (logrotate renamed the
            // file); reloads themselves go through the parent, which validates the set and
            // hands it over.
            lon::reopen_logs();
            spdlog::info("{}: log file reopened (reloads are the lonc parent's)",
                         sig == SIGHUP ? "HUP" : "USR2");
            break;
        default:
            break;
        }
        republish();
        reschedule(); // a revived link's attempt, the countdown gone
        handle_signals();
    });
}

void PeerChild::stop(int code) {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    exit_code_ = code;
    std::error_code ignored;
    signals_.cancel(ignored);
    wake_timer_.cancel();
    accept_timer_.cancel();
    acceptor_.close(ignored); // our copy only; the parent keeps the socket
    fail_queue();
    auto conns = conns_;
    for (const auto& c : conns) {
        c->close(asio::error::operation_aborted); // in-flight requests answer con_lost
    }
    auto locals = locals_;
    for (const auto& [raw, l] : locals) {
        l->close_after_flush(); // deliver the answers already due, then hang up
    }
    std::filesystem::remove(status_path(), ignored);
    if (locals_.empty()) {
        io_.stop();
        return;
    }
    // A client that never reads its replies must not keep us alive.
    wake_timer_.expires_after(std::chrono::seconds(2));
    wake_timer_.async_wait([this](std::error_code ec) {
        if (!ec) {
            io_.stop();
        }
    });
}

int run_peer_child(link::ValidatedSet& set, const std::string& peer, int listen_fd,
                   int channel_fd) {
    proctitle::set_comm("lonc");
    UniqueFd fd(listen_fd);
    UniqueFd channel(channel_fd);
    if (set.config.hosts.find(peer) == nullptr) {
        spdlog::error("{} is not in the hosts table", peer);
        return 2;
    }
    asio::io_context io{1};
    // Stops with io.stop(), like everything else here.
    link::HeapKeeper heap(io, set.config.limits.large_message_heap);
    PeerChild child(io, set, peer, std::move(fd), std::move(channel));
    child.start();
    io.run();
    flush_logs();
    return child.exit_code();
}

} // namespace lon::lonc
