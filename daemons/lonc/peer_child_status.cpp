// PeerChild: what it shows of itself: the process title, the reply to lonc:status and
// run_dir/lonc.<peer>.json.

#include "peer_child.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>

#include <fmt/format.h>
#include <unistd.h>

#include "file_write.hpp"
#include "json.hpp"
#include "outbound_conn.hpp"
#include "pin_store.hpp"
#include "proctitle.hpp"
#include "titles.hpp"

namespace lon::lonc {

std::filesystem::path PeerChild::status_path() const {
    return config_.paths.run_dir / ("lonc." + peer_ + ".json");
}

long PeerChild::seconds_to_probe(clock::time_point now) const {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(health_.next_attempt() - now).count();
    return static_cast<long>(std::max<long long>(0, (ms + 999) / 1000));
}

std::string_view PeerChild::link_mode() const {
    bool insecure = std::any_of(conns_.begin(), conns_.end(), [](const auto& c) {
        return c->linked() && c->mode() == proto::Mode::insecure;
    });
    return insecure ? "insecure" : "ssl"; // with mixed links, the weakest
}

std::string PeerChild::status_json() const {
    auto now = clock::now();
    std::time_t wall = std::time(nullptr);
    int linked = linked_count();
    std::size_t in_flight = 0;
    const OutboundConn* ssl_link = nullptr;
    for (const auto& c : conns_) {
        if (c->linked()) {
            in_flight += c->in_flight();
            if (c->mode() == proto::Mode::ssl && ssl_link == nullptr) {
                ssl_link = c.get();
            }
        }
    }
    using State = proto::PeerHealth::State;
    State state = health_.state();
    std::string state_name = state == State::dead ? "dead" : (linked > 0 ? "linked" : "connecting");
    std::string next_probe = "null";
    if (state == State::dead) {
        next_probe = std::to_string(seconds_to_probe(now));
    }
    std::string peer_subject = "null";
    std::string peer_days = "null";
    if (ssl_link != nullptr) {
        peer_subject = json_string(ssl_link->peer_subject());
    }
    if (peer_not_after_ != 0) { // as last seen: still shown while the link is down
        peer_days = std::to_string(static_cast<long>(std::difftime(peer_not_after_, wall) / 86400));
    }
    return "{\"role\":\"lonc\",\"peer\":" + json_string(peer_) +
           ",\"pid\":" + std::to_string(::getpid()) + ",\"state\":\"" + state_name +
           "\",\"connections\":" + std::to_string(linked) +
           ",\"retries_remaining\":" + std::to_string(health_.retries_remaining()) +
           ",\"mode\":" + (linked > 0 ? json_string(link_mode()) : "null") +
           ",\"queued\":" + std::to_string(queue_.size()) +
           ",\"in_flight\":" + std::to_string(in_flight) + ",\"spooled\":" + std::to_string(spool_.size()) +
           ",\"next_probe_s\":" + next_probe +
           ",\"pinned\":" + (link::is_pinned(config_.paths.state_dir, peer_) ? "true" : "false") +
           ",\"on_roster\":" + (roster_.lists(peer_, wall) ? "true" : "false") +
           ",\"roster_serial\":" +
           (roster_.roster() != nullptr ? std::to_string(roster_.roster()->serial) : "null") +
           ",\"roster_error\":" + (roster_.error().empty() ? "null" : json_string(roster_.error())) +
           ",\"own_cert_days_left\":" + (tls_usable_ ? std::to_string(tls_->days_left(wall)) : "null") +
           ",\"own_cert_not_after\":" + (tls_ ? std::to_string(tls_->not_after) : "null") +
           ",\"peer_subject\":" + peer_subject + ",\"peer_cert_days_left\":" + peer_days +
           ",\"peer_cert_not_after\":" +
           (peer_not_after_ != 0 ? std::to_string(peer_not_after_) : "null") +
           ",\"last_error\":" + (last_error_at_ != 0 ? json_string(last_error_) : "null") +
           ",\"last_error_time\":" +
           (last_error_at_ != 0 ? std::to_string(last_error_at_) : "null") +
           ",\"table_hosts\":" + std::to_string(config_.hosts.hosts().size()) +
           ",\"counters\":" + counters_.json() + ",\"updated\":" + std::to_string(wall) + "}";
}

void PeerChild::republish() {
    last_title_.clear();
    last_title_inputs_ = {};
    published_at_ = clock::time_point::min(); // at once (a reload, an admin's USR1)
    publish();
}

bool PeerChild::status_stale() const {
    return status_stale_ || counters_.version() != published_counters_ ||
           last_error_at_ != published_error_at_;
}

void PeerChild::publish() {
    using State = proto::PeerHealth::State;
    // Called after every request handed to a link: what the title shows is compared before
    // it is formatted (formatting it each time was a tenth of a busy child's user CPU), and
    // the clock is read only when something needs it.
    std::optional<clock::time_point> read_at;
    auto now = [&] { return read_at ? *read_at : *(read_at = clock::now()); };
    std::string_view mode = link_mode();
    TitleInputs in{health_.state(), linked_count(), health_.retries_remaining(),
                   mode == "insecure", 0};
    if (in.state == State::dead) {
        in.seconds_to_probe = seconds_to_probe(now());
    }
    bool title_moved = !(in == last_title_inputs_);
    if (title_moved) {
        last_title_inputs_ = in;
        std::string title;
        if (in.state == State::dead) {
            title = titles::lonc_dead(peer_, in.seconds_to_probe);
        } else if (in.linked > 0) {
            title = titles::lonc_linked(peer_, in.linked, in.retries, mode);
        } else {
            title = titles::lonc_connecting(peer_, in.retries);
        }
        if (title != last_title_) {
            last_title_ = std::move(title);
            proctitle::set(last_title_);
        }
        status_stale_ = true;
    }
    // The status file follows the title (state, counts, retries, mode, countdown), the
    // counters and the last error, at most once a second and not in the first second (a
    // child that links at once writes it once: each write is a new file renamed over the
    // old); a change after a quiet second is written at once.
    if (!status_stale()) {
        return;
    }
    if (armed_at_ <= status_due()) {
        return; // the timer wakes by then, and on_wakeup publishes: no clock read per request
    }
    if (now() < status_due()) {
        wake_by(status_due()); // some callers do not reschedule after publishing
        return;
    }
    status_stale_ = false;
    published_error_at_ = last_error_at_;
    published_counters_ = counters_.version();
    published_at_ = now();
    std::string status = status_json() + "\n";
    if (!write_file_atomic(status_path(), status)) {
        warn_throttled("status_write", fmt::format("cannot write {}: {}",
                                                   status_path().string(),
                                                   std::strerror(errno)));
    }
}

} // namespace lon::lonc
