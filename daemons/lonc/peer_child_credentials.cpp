// PeerChild: its certificate, the CA roster and the configuration the parent hands over
// (control channel), and what each change does to the links.

#include "peer_child.hpp"

#include <ctime>

#include <spdlog/spdlog.h>

#include "fd_passing.hpp"
#include "heap.hpp"
#include "net.hpp"
#include "outbound_conn.hpp"

namespace lon::lonc {

void PeerChild::adopt_tls(std::optional<link::TlsCredentials> creds) {
    // The roster first: it stands on its own (the CA's signature, checked; one that does not
    // verify or is older is refused and the one in use kept), so it is read here from
    // cert_dir rather than handed over in the parent's set.
    roster_.reload(config_.paths.cert_dir);
    if (roster_.lists(peer_, std::time(nullptr))) {
        // A plaintext link made before the roster arrived is exactly what it forbids.
        retire_links(proto::RetireScope::insecure_only,
                     "the CA roster lists " + peer_ + " as holding a certificate");
    }
    std::string before = tls_ ? tls_->fingerprint : std::string();
    std::string after = creds ? creds->fingerprint : std::string();
    tls_ = std::move(creds);
    if (before != after) {
        ++tls_generation_;
        close_revoked_links();
        retire_links(proto::RetireScope::all, "credentials changed");
        tls_usable_ = false;
        note_unusable_tls();
    } else if (tls_usable_) {
        // The peer may have gained a certificate since: plaintext links get a new chance to
        // become ssl (an admin reloads after installing certificates everywhere).
        retire_links(proto::RetireScope::insecure_only, "retrying ssl");
    }
}

void PeerChild::note_unusable_tls() {
    std::time_t wall = std::time(nullptr);
    tls_usable_ = tls_ && tls_->usable_at(wall);
    if (tls_ && !tls_usable_) {
        spdlog::warn("no usable certificate now ({}): ssl links are not possible until the "
                     "clock says it is valid",
                     tls_->unusable_reason(wall));
    }
}

void PeerChild::recheck_tls(bool connect) {
    std::time_t wall = std::time(nullptr);
    bool usable = tls_ && tls_->usable_at(wall);
    if (usable == tls_usable_) {
        return;
    }
    tls_usable_ = usable;
    ++tls_generation_;
    if (!usable) {
        spdlog::warn("no usable certificate now ({}): ssl links are not possible until the "
                     "clock says it is valid",
                     tls_->unusable_reason(wall));
        retire_links(proto::RetireScope::all, "our certificate is not valid now");
        return;
    }
    spdlog::info("our certificate is valid (again): links to {} use ssl", peer_);
    retire_links(proto::RetireScope::insecure_only, "retrying ssl");
    // Failures while we had no usable certificate say nothing about the peer.
    if (health_.state() == proto::PeerHealth::State::dead) {
        spdlog::info("reviving the link to {}", peer_);
    }
    health_.revive(clock::now());
    if (connect) {
        maybe_connect();
    }
}

void PeerChild::watch_channel() {
    if (!channel_.is_open()) {
        return;
    }
    channel_.async_wait(asio::posix::descriptor_base::wait_read, [this](std::error_code ec) {
        if (stopping_ || link::is_shutdown(ec)) {
            return;
        }
        if (ec) {
            spdlog::error("control channel: {}; configuration updates stop", ec.message());
            return;
        }
        on_channel();
    });
}

void PeerChild::on_channel() {
    for (;;) {
        std::error_code ec;
        auto packet = link::receive_fd(channel_.native_handle(), ec);
        if (!packet) {
            if (ec == std::errc::resource_unavailable_try_again ||
                ec == std::errc::operation_would_block) {
                watch_channel();
            } else if (ec == std::errc::bad_message) {
                spdlog::error("control channel: a truncated message; ignored");
                continue;
            } else if (ec) {
                spdlog::error("control channel: {}; configuration updates stop", ec.message());
            }
            return; // EOF: the parent is gone (and we are told to stop)
        }
        if (packet->data != link::bundle_packet) {
            spdlog::error("control channel: an unexpected message; ignored");
            continue;
        }
        try {
            apply_bundle(link::read_bundle(packet->fd.get()));
        } catch (const std::exception& e) {
            spdlog::error("configuration from the parent unusable, keeping ours: {}", e.what());
        }
        if (stopping_) {
            return;
        }
    }
}

/// Links made before a new CRL that lists the peer are closed at once, not retired: the
/// requests on them get con_lost.
void PeerChild::close_revoked_links() {
    if (!tls_) {
        return;
    }
    auto conns = conns_;
    for (const auto& c : conns) {
        if (c->linked() && c->mode() == proto::Mode::ssl &&
            link::peer_revoked_by(c->socket().ssl(), *tls_)) {
            peer_revoked_ = true;
            spdlog::warn("closing a link to {}: revoked (its certificate is now in loncapaCRL.pem)",
                         peer_);
            c->close();
        }
    }
}

void PeerChild::apply_bundle(Bundle bundle) {
    link::ValidatedSet set = link::load_bundle(std::move(bundle), child_tls_contexts);
    if (set.config.hosts.find(peer_) == nullptr) {
        spdlog::info("{} left the hosts table; exiting", peer_);
        stop(0);
        return;
    }
    config_ = std::move(set.config);
    peer_host_ = config_.hosts.find(peer_);
    link::HeapKeeper::set_kept_busy(config_.limits.large_message_heap);
    spdlog::info("reloaded {} (as validated by the parent)", config_.file.string());
    adopt_tls(std::move(set.tls.credentials));
    maybe_connect();
    republish();
    reschedule(); // the timers may have changed
}

void PeerChild::retire_links(proto::RetireScope scope, const std::string& why) {
    for (const auto& c : conns_) {
        if (proto::should_retire(pool_conn(*c), scope)) {
            spdlog::info("replacing a link to {}: {}", peer_, why);
            c->retire();
        }
    }
    // Idle ones go now; busy ones once their last reply is in (see on_reply / on_wakeup).
    auto conns = conns_;
    for (const auto& c : conns) {
        if (proto::close_retired(pool_conn(*c))) {
            c->close();
        }
    }
}

/// Daily warnings before our certificate or the peer's expires, the first as soon as it
/// applies (for the peer's: once a link is up); a peer certificate or our own that has
/// expired while linked does not stay in use. Each warning has its own day: one that does not
/// apply yet must not use up the other's.
void PeerChild::check_certificates(clock::time_point now) {
    std::time_t wall = std::time(nullptr);
    if (tls_usable_ && now >= next_own_expiry_warning_ &&
        tls_->days_left(wall) <= config_.tls.expiry_warning_days) {
        spdlog::warn("our certificate expires in {} day(s)", tls_->days_left(wall));
        next_own_expiry_warning_ = now + std::chrono::hours(24);
    }
    bool warned_peer = false;
    auto conns = conns_;
    for (const auto& c : conns) {
        if (!c->linked() || c->mode() != proto::Mode::ssl) {
            continue;
        }
        double left = std::difftime(c->peer_not_after(), wall);
        if (left <= 0 && !c->retired()) {
            spdlog::warn("{}'s certificate has expired; dropping that link", peer_);
            c->retire();
            if (proto::close_retired(pool_conn(*c))) {
                c->close();
            }
        } else if (!warned_peer && now >= next_peer_expiry_warning_ &&
                   left < config_.tls.expiry_warning_days * 86400.0) {
            spdlog::warn("{}'s certificate expires in {} day(s)", peer_, static_cast<long>(left / 86400));
            warned_peer = true; // one line for the pool, not one per link
        }
    }
    if (warned_peer) {
        next_peer_expiry_warning_ = now + std::chrono::hours(24);
    }
}

void PeerChild::try_upgrade(clock::time_point now) {
    if (stopping_ || peer_host_ == nullptr ||
        !proto::upgrade_probe_due(pool_view(), tls_usable_, now, next_upgrade_)) {
        return;
    }
    next_upgrade_ = now + config_.lonc.keepalive;
    spdlog::debug("link to {} is plaintext; trying ssl", peer_);
    open_connection(true);
}

} // namespace lon::lonc
