#include "link_metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "prom_text.hpp"

namespace lon {

namespace {

using Flat = std::map<std::string, std::string, std::less<>>;

/// Recursive descent over one JSON value; records scalars of objects under dotted keys.
/// Arrays are read and dropped (status files hold none the parent needs).
class FlatParser {
public:
    explicit FlatParser(std::string_view text) : s_(text) {}

    bool parse_document(Flat& out) {
        skip_space();
        if (pos_ >= s_.size() || s_[pos_] != '{' || !object("", out, 0)) {
            return false;
        }
        skip_space();
        return pos_ == s_.size();
    }

private:
    static constexpr int max_depth = 16; // status files nest two levels

    void skip_space() {
        while (pos_ < s_.size() &&
               (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
            ++pos_;
        }
    }
    bool eat(char c) {
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    static void put_utf8(std::string& out, unsigned cp) {
        // Our writers escape single bytes as \u00XX: those come back as the byte itself.
        if (cp < 0x100) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        }
    }
    bool string(std::string& out) {
        if (!eat('"')) {
            return false;
        }
        while (pos_ < s_.size()) {
            char c = s_[pos_++];
            if (c == '"') {
                return true;
            }
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (pos_ >= s_.size()) {
                return false;
            }
            char e = s_[pos_++];
            switch (e) {
            case '"':
            case '\\':
            case '/':
                out.push_back(e);
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'u': {
                unsigned cp = 0;
                if (pos_ + 4 > s_.size()) {
                    return false;
                }
                auto r = std::from_chars(s_.data() + pos_, s_.data() + pos_ + 4, cp, 16);
                if (r.ec != std::errc() || r.ptr != s_.data() + pos_ + 4) {
                    return false;
                }
                pos_ += 4;
                put_utf8(out, cp);
                break;
            }
            default:
                return false;
            }
        }
        return false;
    }
    bool scalar(std::string& out) {
        skip_space();
        std::size_t start = pos_;
        while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' && s_[pos_] != ']' &&
               s_[pos_] != ' ' && s_[pos_] != '\n' && s_[pos_] != '\r' && s_[pos_] != '\t') {
            char c = s_[pos_];
            bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' ||
                      c == '.' || c == 'E';
            if (!ok) {
                return false;
            }
            ++pos_;
        }
        out.assign(s_.substr(start, pos_ - start));
        if (out == "true" || out == "false" || out == "null") {
            return true;
        }
        double ignored = 0;
        auto r = std::from_chars(out.data(), out.data() + out.size(), ignored);
        return !out.empty() && r.ec == std::errc() && r.ptr == out.data() + out.size();
    }
    bool value(const std::string& key, Flat& out, int depth) {
        skip_space();
        if (pos_ >= s_.size() || depth > max_depth) {
            return false;
        }
        char c = s_[pos_];
        if (c == '{') {
            return object(key + ".", out, depth + 1);
        }
        if (c == '[') {
            ++pos_;
            if (eat(']')) {
                return true;
            }
            Flat dropped;
            do {
                if (!value("", dropped, depth + 1)) {
                    return false;
                }
            } while (eat(','));
            return eat(']');
        }
        std::string v;
        if (c == '"' ? !string(v) : !scalar(v)) {
            return false;
        }
        out[key] = std::move(v);
        return true;
    }
    bool object(const std::string& prefix, Flat& out, int depth) {
        if (!eat('{')) {
            return false;
        }
        if (eat('}')) {
            return true;
        }
        do {
            std::string key;
            if (!string(key) || !eat(':') || !value(prefix + key, out, depth)) {
                return false;
            }
        } while (eat(','));
        return eat('}');
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

template <typename T> std::optional<T> number(const Flat& j, std::string_view key) {
    auto it = j.find(key);
    if (it == j.end()) {
        return std::nullopt;
    }
    T v{};
    const std::string& s = it->second;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

} // namespace

const std::vector<std::string_view>& lonc_refusal_reasons() {
    static const std::vector<std::string_view> reasons{
        "queue_full", "client_backpressure", "too_long", "critical_refused", "spool_full"};
    return reasons;
}

std::optional<Flat> parse_flat_json(std::string_view json) {
    Flat out;
    FlatParser p(json);
    if (!p.parse_document(out)) {
        return std::nullopt;
    }
    return out;
}

std::optional<PeerMetrics> parse_peer_status(std::string_view json) {
    auto j = parse_flat_json(json);
    if (!j || j->count("peer") == 0) {
        return std::nullopt;
    }
    PeerMetrics m;
    m.peer = j->at("peer");
    if (auto it = j->find("state"); it != j->end()) {
        m.state = it->second;
    }
    if (auto it = j->find("mode"); it != j->end() && it->second != "null") {
        m.mode = it->second;
    }
    m.pid = number<long>(*j, "pid").value_or(0);
    m.connections = number<long>(*j, "connections").value_or(0);
    m.retries_remaining = number<long>(*j, "retries_remaining");
    m.spool_depth = number<long>(*j, "spooled");
    if (auto t = number<long long>(*j, "peer_cert_not_after")) {
        m.peer_cert_not_after = static_cast<std::time_t>(*t);
    }
    auto counter = [&](std::string_view name) {
        return number<std::uint64_t>(*j, "counters." + std::string(name)).value_or(0);
    };
    m.counts.requests = counter("requests");
    m.counts.con_lost = counter("con_lost");
    m.counts.critical_spooled = counter("critical_spooled");
    m.counts.critical_delivered = counter("critical_delivered");
    if (j->count("retries_remaining") > 0) { // a lonc child: its refusals of local requests
        for (auto name : lonc_refusal_reasons()) {
            m.counts.refusals[std::string(name)] = counter(name);
        }
    }
    return m;
}

std::string format_metrics(const DaemonMetrics& m) {
    PromText t;
    bool lonc = m.daemon == "lonc";
    t.declare("lonlink_children", PromType::gauge,
              lonc ? "lonc children running (one per peer with local clients, queued "
                     "requests, a spool or links)"
                   : "lond children running (one per peer that linked to us)");
    t.sample("lonlink_children", {}, static_cast<double>(m.children));
    t.declare("lonlink_peers", PromType::gauge, "Peers in the hosts table (this host excluded)");
    t.sample("lonlink_peers", {}, static_cast<double>(m.peers.size()));
    t.declare("lonlink_refusals_total", PromType::counter,
              lonc ? "Local requests lonc refused, by reason"
                   : "Connections the lond parent refused or dropped before handing them to "
                     "a child, by reason");
    for (const auto& [reason, n] : m.refusals) {
        t.sample("lonlink_refusals_total", {{"reason", reason}}, static_cast<double>(n));
    }
    if (m.own_cert_not_after) {
        t.declare("lonlink_own_certificate_expiry_timestamp_seconds", PromType::gauge,
                  "When this host's certificate expires (notAfter, unix seconds)");
        t.sample("lonlink_own_certificate_expiry_timestamp_seconds", {},
                 static_cast<double>(*m.own_cert_not_after));
    }

    auto peer = [](const PeerMetrics& p) { return PromLabels{{"peer", p.peer}}; };
    t.declare("lonlink_peer_state", PromType::gauge,
              lonc ? "Link state: 1 for the current one of idle (no child), connecting, "
                     "linked, dead"
                   : "Link state: 1 for the current one of idle (no connection), linked");
    static constexpr std::array<std::string_view, 4> lonc_states{"idle", "connecting", "linked",
                                                                 "dead"};
    static constexpr std::array<std::string_view, 2> lond_states{"idle", "linked"};
    for (const auto& p : m.peers) {
        auto emit = [&](std::string_view s) {
            t.sample("lonlink_peer_state", {{"peer", p.peer}, {"state", std::string(s)}},
                     p.state == s ? 1 : 0);
        };
        if (lonc) {
            std::for_each(lonc_states.begin(), lonc_states.end(), emit);
        } else {
            std::for_each(lond_states.begin(), lond_states.end(), emit);
        }
    }
    t.declare("lonlink_peer_mode", PromType::gauge,
              "Link mode: 1 for ssl or insecure (the weakest of the open connections); both 0 "
              "with no connection");
    for (const auto& p : m.peers) {
        for (std::string_view mode : {"ssl", "insecure"}) {
            t.sample("lonlink_peer_mode", {{"peer", p.peer}, {"mode", std::string(mode)}},
                     p.mode == mode ? 1 : 0);
        }
    }
    t.declare("lonlink_peer_connections", PromType::gauge, "Open connections with the peer");
    for (const auto& p : m.peers) {
        t.sample("lonlink_peer_connections", peer(p), static_cast<double>(p.connections));
    }
    if (lonc) {
        t.declare("lonlink_peer_retries_remaining", PromType::gauge,
                  "Connection attempts left before the link is DEAD (lonc.retries when idle)");
        for (const auto& p : m.peers) {
            if (p.retries_remaining) {
                t.sample("lonlink_peer_retries_remaining", peer(p),
                         static_cast<double>(*p.retries_remaining));
            }
        }
    }
    t.declare("lonlink_peer_requests_total", PromType::counter,
              lonc ? "Local requests the peer answered"
                   : "Request lines from the peer answered (keepalive pings included)");
    for (const auto& p : m.peers) {
        t.sample("lonlink_peer_requests_total", peer(p), static_cast<double>(p.counts.requests));
    }
    if (lonc) {
        t.declare("lonlink_peer_con_lost_total", PromType::counter,
                  "Local requests answered con_lost (not delivered, or no reply in time)");
        t.declare("lonlink_peer_critical_spooled_total", PromType::counter,
                  "Durable requests (lonc:critical:) written to the spool");
        t.declare("lonlink_peer_critical_delivered_total", PromType::counter,
                  "Durable requests the peer answered, removed from the spool");
        t.declare("lonlink_peer_spool_depth", PromType::gauge,
                  "Durable requests in the spool, not yet delivered");
        for (const auto& p : m.peers) {
            t.sample("lonlink_peer_con_lost_total", peer(p), static_cast<double>(p.counts.con_lost));
            t.sample("lonlink_peer_critical_spooled_total", peer(p),
                     static_cast<double>(p.counts.critical_spooled));
            t.sample("lonlink_peer_critical_delivered_total", peer(p),
                     static_cast<double>(p.counts.critical_delivered));
            if (p.spool_depth) {
                t.sample("lonlink_peer_spool_depth", peer(p), static_cast<double>(*p.spool_depth));
            }
        }
    }
    t.declare("lonlink_peer_certificate_expiry_timestamp_seconds", PromType::gauge,
              "When the peer's certificate expires (notAfter, unix seconds), as last seen on an "
              "ssl link; absent before the first");
    for (const auto& p : m.peers) {
        if (p.peer_cert_not_after) {
            t.sample("lonlink_peer_certificate_expiry_timestamp_seconds", peer(p),
                     static_cast<double>(*p.peer_cert_not_after));
        }
    }
    return t.text();
}

void PeerTotals::observe(const std::string& peer, const PeerCounts& counts) {
    current_[peer] = counts;
}

void PeerTotals::retire(const std::string& peer) {
    auto it = current_.find(peer);
    if (it == current_.end()) {
        return;
    }
    PeerCounts& b = base_[peer];
    b.requests += it->second.requests;
    b.con_lost += it->second.con_lost;
    b.critical_spooled += it->second.critical_spooled;
    b.critical_delivered += it->second.critical_delivered;
    for (const auto& [reason, n] : it->second.refusals) {
        b.refusals[reason] += n;
    }
    current_.erase(it);
}

void PeerTotals::forget(const std::string& peer) {
    base_.erase(peer);
    current_.erase(peer);
}

PeerCounts PeerTotals::total(const std::string& peer) const {
    PeerCounts out;
    for (const auto* m : {&base_, &current_}) {
        auto it = m->find(peer);
        if (it == m->end()) {
            continue;
        }
        out.requests += it->second.requests;
        out.con_lost += it->second.con_lost;
        out.critical_spooled += it->second.critical_spooled;
        out.critical_delivered += it->second.critical_delivered;
        for (const auto& [reason, n] : it->second.refusals) {
            out.refusals[reason] += n;
        }
    }
    return out;
}

} // namespace lon
