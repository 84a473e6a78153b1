#include "peer_server.hpp"

#include <csignal>
#include <ctime>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "commands.hpp"
#include "fd_passing.hpp"
#include "heap.hpp"
#include "json.hpp"
#include "log.hpp"
#include "net.hpp"
#include "pin_store.hpp"
#include "file_write.hpp"
#include "proctitle.hpp"
#include "session.hpp"
#include "titles.hpp"

namespace lon::lond {
namespace {

std::filesystem::path status_path(const Config& cfg, const std::string& peer) {
    return cfg.paths.run_dir / ("lond." + peer + ".json");
}

link::HandlerPool::Settings handler_settings(const Config& cfg) {
    link::HandlerPool::Settings s;
    s.path = cfg.lond.handler.value_or(std::filesystem::path());
    s.connections = cfg.lond.handler_connections;
    s.max_reply = max_reply_bytes(cfg.limits.max_message_bytes);
    // The handler's deadline has always been lonc.request_timeout (lond's own config): a
    // request that lonc has given up on need not be waited for any longer here.
    s.timeout = cfg.lonc.request_timeout;
    return s;
}

} // namespace

PeerServer::PeerServer(asio::io_context& io, link::ValidatedSet& set, std::string peer,
                       UniqueFd channel)
    : io_(io), config_(set.config), peer_(std::move(peer)), channel_(io, channel.release()),
      signals_(io), tls_(std::move(set.tls.credentials)),
      critical_(io, config_.paths.state_dir / "critical" / peer_, config_.lond.critical_retention,
                [this](std::string_view what, std::uint64_t n) { count(what, n); }),
      handlers_(io, config_.lond.max_handler_requests, config_.lond.max_handler_queue),
      handler_pool_(io, handler_settings(config_)),
      retry_timer_(io),
      counters_{"requests", "idle_closed", "too_long", "handler_queued", "handler_busy", "handler_unavailable",
                "handoff_failed",
                "critical_indeterminate", "critical_acked", "critical_expired"},
      requests_(counters_.slot("requests")),
      status_writer_(io, std::chrono::seconds(1), [this] { write_status(); }),
      idle_timer_(io) {}

void PeerServer::note_error(std::string what) {
    last_error_ = std::move(what);
    last_error_at_ = std::time(nullptr);
    if (!stopping_) {
        status_writer_.request();
    }
}

void PeerServer::count(std::string_view what, std::uint64_t n) {
    counters_.add(what, n);
    if (!stopping_) {
        status_writer_.request();
    }
}

void PeerServer::count_request(bool quietly) {
    counters_.add(requests_);
    if (!quietly && !stopping_) {
        status_writer_.request();
    }
}

void PeerServer::start() {
    roster_.reload(config_.paths.cert_dir);
    (void)tls(); // logs now when the certificate is outside its dates
    critical_.start();
    // USR2 too: LON-CAPA admins send it to every lond process, and its default action would
    // end this peer's links.
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) {
        signals_.add(sig);
    }
    handle_signals();
    publish();
    do_receive();
}

const link::TlsCredentials* PeerServer::tls() {
    if (!tls_) {
        return nullptr;
    }
    std::time_t now = std::time(nullptr);
    bool usable = tls_->usable_at(now);
    if (usable != tls_usable_) {
        tls_usable_ = usable;
        if (usable) {
            spdlog::info("our certificate is valid (again): ssl links are possible");
        } else {
            spdlog::warn("no usable certificate now ({}): ssl links are not possible until the "
                         "clock says it is valid",
                         tls_->unusable_reason(now));
        }
    }
    return usable ? &*tls_ : nullptr;
}

bool PeerServer::peer_on_roster() const {
    return roster_.lists(peer_, std::time(nullptr));
}

void PeerServer::drop_plaintext_if_listed() {
    if (!peer_on_roster()) {
        return;
    }
    // A plaintext link accepted before the roster arrived is exactly what it forbids; the
    // peer's lonc reconnects, now in ssl or refused as a downgrade.
    std::vector<Session*> plaintext;
    for (Session* s : linked_) {
        if (s->mode() == proto::Mode::insecure) {
            plaintext.push_back(s);
        }
    }
    for (Session* s : plaintext) {
        spdlog::info("closing a plaintext link from {}: the CA roster lists it as holding a "
                     "certificate",
                     peer_);
        s->close();
    }
}

void PeerServer::apply_bundle(Bundle bundle) {
    link::ValidatedSet set = link::load_bundle(std::move(bundle), child_tls_contexts);
    if (set.config.hosts.find(peer_) == nullptr) {
        // The parent stops us too; a table without our peer leaves nothing to serve.
        spdlog::info("{} left the hosts table; stopping", peer_);
        shutdown();
        return;
    }
    config_ = std::move(set.config);
    link::HeapKeeper::set_kept_busy(config_.limits.large_message_heap);
    handlers_.set_limits(config_.lond.max_handler_requests, config_.lond.max_handler_queue);
    handler_pool_.configure(handler_settings(config_));
    tls_ = std::move(set.tls.credentials);
    tls_usable_ = true;
    spdlog::info("reloaded {} (as validated by the parent)", config_.file.string());
    // A CRL installed since those links were made may list the peer: they do not stay up.
    std::vector<std::shared_ptr<Session>> revoked;
    for (Session* s : linked_) {
        if (tls_ && s->mode() == proto::Mode::ssl && link::peer_revoked_by(s->socket().ssl(), *tls_)) {
            revoked.push_back(s->shared_from_this());
        }
    }
    for (const auto& s : revoked) {
        spdlog::warn("closing a link from {}: revoked (its certificate is now in loncapaCRL.pem)",
                     peer_);
        peer_revoked_ = true;
        s->close();
    }
    // The roster is read here, from cert_dir: it carries the CA's signature, and one that
    // does not verify (or is older) is refused while the one in use is kept.
    roster_.reload(config_.paths.cert_dir);
    drop_plaintext_if_listed();
    if (!tls_) {
        spdlog::info("no usable certificate ({}): ssl links are not possible",
                     set.tls.absent_reason);
    }
    (void)tls();
    publish();
    status_writer_.run_now(); // what the reload changed, at once
    arm_idle_sweep(true); // lond.idle_timeout may have changed
}

void PeerServer::do_receive() {
    channel_.async_wait(asio::posix::descriptor_base::wait_read, [this](std::error_code ec) {
        if (stopping_ || link::is_shutdown(ec)) {
            return;
        }
        if (ec) {
            spdlog::error("control channel: {}", ec.message());
            shutdown();
            return;
        }
        accept_handoff();
    });
}

void PeerServer::accept_handoff() {
    for (;;) {
        std::error_code ec;
        auto handoff = link::receive_fd(channel_.native_handle(), ec);
        if (handoff && handoff->data == link::bundle_packet) {
            // Not a connection: the set the parent validated on an accepted HUP.
            try {
                apply_bundle(link::read_bundle(handoff->fd.get()));
            } catch (const std::exception& e) {
                spdlog::error("configuration from the parent unusable, keeping ours: {}",
                              e.what());
            }
            if (stopping_) {
                return; // our peer left the hosts table
            }
            continue;
        }
        if (!handoff) {
            if (ec == std::errc::resource_unavailable_try_again ||
                ec == std::errc::operation_would_block) {
                do_receive();
                return;
            }
            if (ec == std::errc::bad_message) {
                // Truncated, or its descriptor did not fit (MSG_CTRUNC: we are out of
                // descriptors): that connection is lost, the channel is fine.
                handoff_failed("truncated hand-off (no descriptor left?)");
                continue;
            }
            if (ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory) {
                handoff_failed(ec.message());
                retry_timer_.expires_after(std::chrono::milliseconds(100));
                retry_timer_.async_wait([this](std::error_code tec) {
                    if (!tec && !stopping_) {
                        do_receive();
                    }
                });
                return;
            }
            if (ec) {
                spdlog::error("control channel: {}; stopping", ec.message());
            } else {
                spdlog::info("lond parent went away; stopping");
            }
            shutdown();
            return;
        }
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getsockname(handoff->fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
            handoff_failed(std::string("getsockname: ") + std::strerror(errno));
            continue;
        }
        asio::ip::tcp::socket socket(io_);
        std::error_code aec;
        socket.assign(ss.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(),
                      handoff->fd.release(), aec);
        if (aec) {
            handoff_failed("cannot adopt a connection: " + aec.message());
            continue;
        }
        // The kernel notices a vanished peer too (see lonc.keepalive).
        if (auto kec = link::set_tcp_liveness(socket.native_handle(), config_.lonc.keepalive)) {
            spdlog::debug("TCP keepalive options: {}", kec.message());
        }
        if (auto nec = link::set_no_delay(socket.native_handle())) {
            spdlog::debug("TCP_NODELAY: {}", nec.message());
        }
        std::string ip = link::remote_ip(socket);
        auto session = std::make_shared<Session>(*this, std::move(socket), ip);
        session->begin(handoff->data);
        revive_local_lonc();
    }
}

void PeerServer::handoff_failed(const std::string& why) {
    count("handoff_failed");
    if (auto suppressed = log_throttle_.admit("handoff", std::chrono::steady_clock::now())) {
        if (*suppressed > 0) {
            spdlog::warn("dropped a connection handed over by the parent: {} ({} more since "
                         "the last report)",
                         why, *suppressed);
        } else {
            spdlog::warn("dropped a connection handed over by the parent: {}", why);
        }
    }
}

void PeerServer::on_session_linked(Session& session) {
    linked_.insert(&session);
    arm_idle_sweep();
    publish();
    link::trim_heap(); // what the negotiation and TLS handshake freed (heap.hpp)
}

void PeerServer::arm_idle_sweep(bool again) {
    if ((idle_sweep_armed_ && !again) || stopping_ || linked_.empty()) {
        return;
    }
    // Armed at the oldest session's deadline, not on a period: an idle lond child wakes
    // about once per idle_timeout (a session pinged meanwhile just moves the deadline on).
    // Never sooner than 100 ms from now, so a session closing meanwhile cannot make it spin.
    auto now = std::chrono::steady_clock::now();
    auto due = std::chrono::steady_clock::time_point::max();
    for (Session* s : linked_) {
        due = std::min(due, s->last_input() + config_.lond.idle_timeout);
    }
    idle_sweep_armed_ = true;
    idle_timer_.expires_at(std::max(due, now + std::chrono::milliseconds(100)));
    idle_timer_.async_wait([this](std::error_code ec) {
        if (ec) {
            return; // cancelled: re-armed (again) or stopping
        }
        idle_sweep_armed_ = false;
        if (!stopping_) {
            sweep_idle();
            arm_idle_sweep();
        }
    });
}

void PeerServer::sweep_idle() {
    auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Session>> quiet;
    for (Session* s : linked_) {
        if (now - s->last_input() >= config_.lond.idle_timeout) {
            quiet.push_back(s->shared_from_this());
        }
    }
    for (const auto& s : quiet) {
        count("idle_closed");
        spdlog::info("closing a link from {}: nothing received for {} ms (lond.idle_timeout)",
                     peer_, config_.lond.idle_timeout.count());
        s->close(asio::error::timed_out);
    }
}

void PeerServer::on_session_closed(Session& session) {
    if (linked_.erase(&session) > 0) {
        publish();
    }
}

/// An inbound link proves the peer is alive: if our own lonc child for that peer is DEAD,
/// wake it (USR1) instead of letting it wait for its next slow probe.
void PeerServer::revive_local_lonc() {
    std::ifstream in(config_.paths.run_dir / ("lonc." + peer_ + ".json"));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (s.find("\"state\":\"dead\"") == std::string::npos) {
        return;
    }
    auto at = s.find("\"pid\":");
    if (at == std::string::npos) {
        return;
    }
    long pid = std::strtol(s.c_str() + at + 6, nullptr, 10);
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(comm, name);
    if (pid > 1 && name == "lonc") {
        spdlog::info("{} connected to us; reviving our DEAD lonc link to it (pid {})", peer_, pid);
        ::kill(static_cast<pid_t>(pid), SIGUSR1);
    }
}

void PeerServer::handle_signals() {
    signals_.async_wait([this](std::error_code ec, int sig) {
        if (ec) {
            return;
        }
        if (sig == SIGTERM || sig == SIGINT) {
            shutdown();
            return;
        }
        if (sig == SIGHUP || sig == SIGUSR2) {
            // The parent forwards HUP after it reopened its own log (logrotate renamed the
            // file); reloads themselves go through the parent, which validates the set and
            // hands it over.
            lon::reopen_logs();
            spdlog::info("{}: log file reopened (reloads are the lond parent's)",
                         sig == SIGHUP ? "HUP" : "USR2");
        }
        publish();
        status_writer_.run_now(); // USR1: "children rewrite their status files", at once
        handle_signals();
    });
}

void PeerServer::shutdown() {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    std::error_code ignored;
    signals_.cancel(ignored);
    channel_.close(ignored);
    status_writer_.cancel();
    idle_timer_.cancel();
    retry_timer_.cancel();
    auto sessions = linked_;
    for (Session* s : sessions) {
        s->close();
    }
    std::filesystem::remove(status_path(config_, peer_), ignored);
    io_.stop();
}

void PeerServer::publish() {
    std::string title = titles::lond_child(peer_, static_cast<int>(linked_.size()), mode());
    if (title == last_title_) {
        return;
    }
    last_title_ = title;
    proctitle::set(title);
    if (!stopping_) {
        status_writer_.request();
    }
}

std::string_view PeerServer::mode() {
    bool insecure = false;
    for (const Session* s : linked_) {
        insecure = insecure || s->mode() == proto::Mode::insecure;
    }
    // With no connection left the title keeps the mode the last ones had: an ssl peer whose
    // links all closed is not an insecure one (the title has no word for "none").
    if (!linked_.empty()) {
        last_mode_ = insecure ? "insecure" : "ssl";
    }
    return last_mode_;
}

void PeerServer::write_status() {
    int n = static_cast<int>(linked_.size());
    std::string_view mode = this->mode();
    std::string json = "{\"role\":\"lond\",\"peer\":" + json_string(peer_) +
                       ",\"pid\":" + std::to_string(::getpid()) + ",\"state\":\"" +
                       (n > 0 ? "linked" : "idle") + "\",\"connections\":" + std::to_string(n) +
                       ",\"mode\":" + (n > 0 ? json_string(mode) : "null") +
                       ",\"pinned\":" +
                       (link::is_pinned(config_.paths.state_dir, peer_) ? "true" : "false") +
                       ",\"on_roster\":" + (peer_on_roster() ? "true" : "false") +
                       ",\"peer_cert_not_after\":" +
                       (peer_not_after_ != 0 ? std::to_string(peer_not_after_) : "null") +
                       ",\"peer_cert_days_left\":" +
                       (peer_not_after_ != 0
                            ? std::to_string(static_cast<long>(
                                  std::difftime(peer_not_after_, std::time(nullptr)) / 86400))
                            : "null") +
                       ",\"own_cert_not_after\":" + (tls_ ? std::to_string(tls_->not_after) : "null") +
                       ",\"last_error\":" + (last_error_at_ != 0 ? json_string(last_error_) : "null") +
                       ",\"last_error_time\":" +
                       (last_error_at_ != 0 ? std::to_string(last_error_at_) : "null") +
                       ",\"table_hosts\":" + std::to_string(config_.hosts.hosts().size()) +
                       ",\"counters\":" + counters_.json() + ",\"updated\":" + std::to_string(std::time(nullptr)) + "}\n";
    if (!write_file_atomic(status_path(config_, peer_), json)) {
        spdlog::warn("cannot write {}: {}", status_path(config_, peer_).string(),
                     std::strerror(errno));
    }
}

int run_peer_server(link::ValidatedSet& set, const std::string& peer, int channel_fd) {
    proctitle::set_comm("lond");
    UniqueFd channel(channel_fd);
    if (set.config.hosts.find(peer) == nullptr) {
        spdlog::error("{} is not in the hosts table", peer);
        return 2;
    }
    asio::io_context io{1};
    // Stops with io.stop(), like everything else here.
    link::HeapKeeper heap(io, set.config.limits.large_message_heap);
    PeerServer server(io, set, peer, std::move(channel));
    server.start();
    io.run();
    spdlog::info("stopped");
    flush_logs();
    return 0;
}

} // namespace lon::lond
