#include "listener.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon_main.hpp"
#include "log.hpp"
#include "fd_passing.hpp"
#include "json.hpp"
#include "net.hpp"
#include "file_write.hpp"
#include "proctitle.hpp"
#include "reload_result.hpp"
#include "service_notify.hpp"
#include "spawn.hpp"
#include "titles.hpp"

namespace lon::lond {

/// Reads the init line of one fresh connection: at most max_init_line bytes plus '\n',
/// within handshake_timeout; then asks the Listener what to do with it. Tracked by the
/// Listener as a pending init until it ends one way or another (untrack).
class InitReader final : public std::enable_shared_from_this<InitReader> {
public:
    InitReader(Listener& owner, asio::ip::tcp::socket socket, std::string ip)
        : owner_(owner), socket_(std::move(socket)), timer_(socket_.get_executor()),
          ip_(std::move(ip)) {}

    [[nodiscard]] const std::string& ip() const { return ip_; }
    std::list<std::shared_ptr<InitReader>>::iterator position; ///< in the Listener's list
    bool tracked = false;

    void start() {
        timer_.expires_after(owner_.config().limits.handshake_timeout);
        timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec && self->socket_.is_open()) {
                self->owner_.on_init_timeout(self->ip_);
                self->drop();
            }
        });
        do_read();
    }

    /// Closes the connection unanswered (timeout, eviction, shutdown).
    void drop() {
        std::error_code ignored;
        timer_.cancel();
        socket_.close(ignored);
        owner_.untrack(*this);
    }

private:
    void do_read() {
        socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](
                                                          std::error_code ec, std::size_t n) {
            self->on_read(ec, n);
        });
    }

    void on_read(std::error_code ec, std::size_t n) {
        if (ec) {
            if (!link::is_shutdown(ec)) {
                spdlog::debug("connection from {} ended before init: {}", ip_, ec.message());
            }
            drop();
            return;
        }
        std::size_t scanned = bytes_.size();
        bytes_.append(chunk_.data(), n);
        auto nl = bytes_.find('\n', scanned);
        if ((nl == std::string::npos && bytes_.size() > proto::max_init_line) ||
            (nl != std::string::npos && nl > proto::max_init_line)) {
            timer_.cancel();
            owner_.untrack(*this);
            owner_.on_bad_init(socket_, ip_,
                               fmt::format("init line longer than {} bytes", proto::max_init_line));
            return;
        }
        if (nl == std::string::npos) {
            do_read();
            return;
        }
        timer_.cancel();
        owner_.untrack(*this);
        std::string line = bytes_.substr(0, nl);
        owner_.on_init_line(socket_, line, std::move(bytes_));
    }

    Listener& owner_;
    asio::ip::tcp::socket socket_;
    asio::steady_timer timer_;
    std::string ip_;
    std::array<char, 2048> chunk_{};
    std::string bytes_;
};

namespace {

std::filesystem::path status_path(const Config& cfg) {
    return cfg.paths.run_dir / "lond.json";
}

/// EMFILE, ENFILE and their kin. Asio reports errno values in its own system category,
/// which does not compare equal to std::errc: compare the values.
bool out_of_descriptors(const std::error_code& ec) {
    if (ec.category() != asio::error::get_system_category() &&
        ec.category() != std::system_category() && ec.category() != std::generic_category()) {
        return false;
    }
    int v = ec.value();
    return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

} // namespace

Listener::Listener(asio::io_context& io, link::ValidatedSet& set, UniqueFd listen_fd,
                   bool foreground)
    : io_(io), config_(std::move(set.config)),
      bundle_(link::keep_for_children(std::move(set.bundle))), foreground_(foreground),
      acceptor_(io),
      signals_(io), reaper_(io, [this](pid_t pid, int status) { on_child_exit(pid, status); }),
      kill_timer_(io), accept_timer_(io),
      counters_{"refused_version", "refused_wrong_server", "refused_unknown_host",
                "refused_address_mismatch", "refused_bad_init", "refused_busy",
                "pending_evicted", "pending_over_address_cap", "pending_timeout",
                "accept_errors", "handoff_failed", "resolve_failed"},
      status_writer_(io, std::chrono::seconds(1), [this] { write_status(); }), resolver_(io),
      metrics_(io, "lond", [this] { return render_metrics(); }) {
    if (set.tls.credentials) {
        own_not_after_ = set.tls.credentials->not_after;
    }
    auto ip = asio::ip::make_address(config_.listen_address);
    acceptor_.assign(ip.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(),
                     listen_fd.release());
    link::return_freed_heap(); // what parsing the hosts table took (validated_set.hpp)
}

Listener::~Listener() = default;

UniqueFd Listener::seal_for(const std::string& peer) const {
    std::error_code ec;
    UniqueFd fd = link::seal_bundle_for_peer(bundle_, config_, peer, ec);
    if (!fd) {
        spdlog::error("cannot seal the configuration for the lond child for {}: {}", peer,
                      ec.message());
    }
    return fd;
}

void Listener::start() {
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) {
        signals_.add(sig);
    }
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
        descriptor_limit_ = static_cast<std::size_t>(lim.rlim_cur);
    }
    if (pending_cap() < config_.limits.max_pending_inits) {
        spdlog::warn("at most {} connections may wait for their init line (not {}): the "
                     "descriptor limit is {}",
                     pending_cap(), config_.limits.max_pending_inits, descriptor_limit_);
    }
    handle_signals();
    update_title();
    status_writer_.run_now(); // the first at once; changes within the next second a second later
    metrics_.configure(config_.metrics_dir);
    do_accept();
}

void Listener::do_accept() {
    acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
        if (stopping_ || link::is_shutdown(ec)) {
            return;
        }
        if (ec) {
            on_accept_error(ec);
            return;
        }
        admit(std::move(socket));
        do_accept();
    });
}

void Listener::on_accept_error(const std::error_code& ec) {
    // A local fault (EMFILE and friends): never retry at once, that only spins. Free a
    // descriptor by dropping the oldest connection that has not sent its init line, and
    // accept again after a pause.
    note("accept_errors", "accept " + ec.message(),
         fmt::format("accept: {}; pausing accepts for 100 ms", ec.message()), false);
    if (out_of_descriptors(ec)) {
        // Descriptors ran out below the cap (something else holds them): for a while keep
        // the pending inits well below what fits, so that the next accepts evict the oldest
        // instead of failing again and a child can still be started, a status written.
        constexpr std::size_t reserve = 16;
        lowered_cap_ = pending_.size() > reserve + 1 ? pending_.size() - reserve : 1;
        lowered_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        evict_oldest("out of descriptors");
        while (pending_.size() > lowered_cap_ && evict_oldest("out of descriptors")) {
        }
    }
    accept_timer_.expires_after(std::chrono::milliseconds(100));
    accept_timer_.async_wait([this](std::error_code tec) {
        if (!tec && !stopping_) {
            do_accept();
        }
    });
}

std::size_t Listener::pending_cap() const {
    std::size_t cap = std::max<std::size_t>(config_.limits.max_pending_inits, 1);
    if (descriptor_limit_ > 0) {
        // Keep room for the log, the listener, the io_context, one channel per child and
        // a child being started.
        std::size_t reserve = 32 + 2 * config_.hosts.hosts().size();
        std::size_t budget = descriptor_limit_ > reserve + 1 ? descriptor_limit_ - reserve : 1;
        cap = std::min(cap, budget);
    }
    if (lowered_cap_ > 0 && std::chrono::steady_clock::now() < lowered_until_) {
        cap = std::min(cap, lowered_cap_);
    }
    return cap;
}

void Listener::admit(asio::ip::tcp::socket socket) {
    std::string ip = link::remote_ip(socket);
    std::error_code ignored;
    auto it = pending_by_ip_.find(ip);
    std::size_t from_ip = it == pending_by_ip_.end() ? 0 : it->second;
    if (from_ip >= std::max<std::size_t>(config_.limits.max_pending_inits_per_address, 1)) {
        note("pending_over_address_cap", "over_address_cap " + ip,
             fmt::format("refused a connection from {}: {} of its connections have not sent "
                         "their init line yet (limits.max_pending_inits_per_address)",
                         ip, from_ip));
        socket.non_blocking(true, ignored);
        static constexpr std::string_view busy = "refused:busy\n";
        socket.write_some(asio::buffer(busy), ignored);
        socket.close(ignored);
        return;
    }
    while (pending_.size() >= pending_cap() && evict_oldest("too many pending inits")) {
    }
    auto reader = std::make_shared<InitReader>(*this, std::move(socket), ip);
    pending_.push_back(reader);
    reader->position = std::prev(pending_.end());
    reader->tracked = true;
    ++pending_by_ip_[ip];
    mark_changed();
    reader->start();
}

bool Listener::evict_oldest(std::string_view why) {
    if (pending_.empty()) {
        return false;
    }
    std::shared_ptr<InitReader> oldest = pending_.front();
    note("pending_evicted", "evicted " + oldest->ip(),
         fmt::format("dropped the oldest connection waiting for its init line, from {}: {} "
                     "(limits.max_pending_inits)",
                     oldest->ip(), why));
    oldest->drop();
    return true;
}

void Listener::untrack(InitReader& reader) {
    if (!reader.tracked) {
        return;
    }
    reader.tracked = false;
    auto it = pending_by_ip_.find(reader.ip());
    if (it != pending_by_ip_.end() && --it->second == 0) {
        pending_by_ip_.erase(it);
    }
    pending_.erase(reader.position); // may destroy the reader's last owner but one: the caller
    mark_changed();
}

void Listener::note(std::string_view counter, const std::string& key, const std::string& message,
                    bool warning) {
    counters_.add(counter);
    mark_changed();
    auto suppressed = log_throttle_.admit(key, std::chrono::steady_clock::now());
    if (!suppressed) {
        return;
    }
    auto level = warning ? spdlog::level::warn : spdlog::level::err;
    if (*suppressed > 0) {
        spdlog::log(level, "{} ({} more like it not logged)", message, *suppressed);
    } else {
        spdlog::log(level, "{}", message);
    }
}

void Listener::on_init_timeout(const std::string& ip) {
    note("pending_timeout", "timeout " + ip,
         fmt::format("closing connection from {}: no init line within the handshake timeout",
                     ip));
}

void Listener::on_bad_init(asio::ip::tcp::socket& socket, const std::string& ip,
                           std::string_view problem) {
    note("refused_bad_init", "bad_init " + ip, fmt::format("refused {}: {}", ip, problem));
    refuse(socket, proto::Refusal::bad_init);
}

std::optional<proto::Refusal> Listener::check(const proto::InitLine& init,
                                              const std::string& ip) const {
    if (init.version != proto::protocol_version) {
        return proto::Refusal::version;
    }
    if (init.server_id != config_.host_id) {
        return proto::Refusal::wrong_server;
    }
    const Host* host = config_.hosts.find(init.client_id);
    if (host == nullptr) {
        return proto::Refusal::unknown_host;
    }
    if (!HostTable::has_address(*host, ip)) {
        return proto::Refusal::address_mismatch;
    }
    return std::nullopt;
}

void Listener::on_init_line(asio::ip::tcp::socket& socket, const std::string& line,
                            std::string bytes) {
    std::string ip = link::remote_ip(socket);
    auto init = proto::parse_init(line);
    if (!init) {
        on_bad_init(socket, ip, "malformed init line");
        return;
    }
    if (auto reason = check(*init, ip)) {
        if (*reason == proto::Refusal::address_mismatch) {
            if (const Host* host = config_.hosts.find(init->client_id);
                host != nullptr && host->resolved.empty()) {
                retry_resolve(*host);
            }
        }
        std::string name(proto::to_string(*reason));
        note("refused_" + name, name + " " + ip,
             fmt::format("refused {} claiming {}: {}", ip, init->client_id, name));
        refuse(socket, *reason);
        return;
    }
    if (stopping_) {
        counters_.add("refused_busy");
        refuse(socket, proto::Refusal::busy);
        return;
    }
    hand_off(init->client_id, socket, bytes);
}

void Listener::retry_resolve(const Host& host) {
    auto now = std::chrono::steady_clock::now();
    auto it = resolve_after_.find(host.id);
    if (it != resolve_after_.end() && now < it->second) {
        return; // tried recently (or under way)
    }
    resolve_after_[host.id] = now + std::chrono::seconds(10);
    resolver_.async_resolve(
        host.address, "",
        [this, id = host.id, name = host.address](
            std::error_code ec, const asio::ip::tcp::resolver::results_type& results) {
            try {
                std::vector<std::string> addresses;
                if (!ec) {
                    for (const auto& r : results) {
                        auto a = r.endpoint().address().to_string();
                        if (std::find(addresses.begin(), addresses.end(), a) == addresses.end()) {
                            addresses.push_back(a);
                        }
                    }
                }
                if (addresses.empty()) {
                    note("resolve_failed", "resolve " + id,
                         fmt::format("cannot resolve {} (host {}): its connections are refused "
                                     "as address_mismatch until it resolves",
                                     name, id));
                    return;
                }
                spdlog::info("{} (host {}) resolved to {}", name, id, fmt::join(addresses, ", "));
                config_.hosts.set_resolved(id, std::move(addresses));
                resolve_after_.erase(id);
            } catch (const std::exception& e) {
                spdlog::error("resolving {}: {}", name, e.what());
            }
        });
}

void Listener::refuse(asio::ip::tcp::socket& socket, proto::Refusal reason) {
    // A few bytes on a fresh socket: the kernel buffer takes them at once (non-blocking, so
    // a peer that does not read can never stall the parent).
    std::string answer = proto::format_answer(proto::refuse(reason)) + "\n";
    std::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(answer), ignored);
    socket.shutdown(asio::socket_base::shutdown_both, ignored);
    socket.close(ignored);
}

void Listener::hand_off(const std::string& peer, asio::ip::tcp::socket& socket,
                        const std::string& bytes) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto it = children_.find(peer);
        Child* child = it != children_.end() ? &it->second : spawn_child(peer);
        if (child == nullptr) {
            counters_.add("refused_busy");
            mark_changed();
            refuse(socket, proto::Refusal::busy);
            return;
        }
        std::error_code ec = link::send_fd(child->channel.get(), socket.native_handle(), bytes);
        if (!ec) {
            std::error_code ignored;
            socket.close(ignored); // the child has its own copy now
            return;
        }
        if (ec == std::errc::resource_unavailable_try_again) {
            note("refused_busy", "busy " + peer,
                 fmt::format("lond child for {} is not keeping up; refusing a connection", peer));
            refuse(socket, proto::Refusal::busy);
            return;
        }
        // The child is gone (not reaped yet): forget it and start a new one.
        spdlog::warn("lond child for {} (pid {}) unreachable: {}", peer, child->pid, ec.message());
        counters_.add("handoff_failed");
        ::kill(child->pid, SIGTERM);
        children_.erase(peer);
        mark_changed();
    }
    counters_.add("refused_busy");
    mark_changed();
    refuse(socket, proto::Refusal::busy);
}

Listener::Child* Listener::spawn_child(const std::string& peer) {
    UniqueFd bundle = seal_for(peer);
    if (!bundle) {
        return nullptr;
    }
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        spdlog::error("socketpair: {}", std::strerror(errno));
        return nullptr;
    }
    UniqueFd ours(sv[0]);
    UniqueFd theirs(sv[1]);
    std::vector<std::string> args{"--config", config_.file.string(), "--role", "peer",
                                  "--peer", peer, "--fd", "3", "--bundle", "4"};
    if (foreground_) {
        args.emplace_back("--foreground");
    }
    pid_t pid = link::spawn_self(args, {{theirs.get(), 3}, {bundle.get(), 4}});
    if (pid < 0) {
        spdlog::error("cannot start lond child for {}: {}", peer, std::strerror(errno));
        return nullptr;
    }
    spdlog::info("started lond child for {} (pid {})", peer, pid);
    auto& child = children_[peer];
    child.pid = pid;
    child.channel = std::move(ours);
    update_title();
    mark_changed();
    return &child;
}

void Listener::on_child_exit(pid_t pid, int status) {
    for (auto it = children_.begin(); it != children_.end(); ++it) {
        if (it->second.pid == pid) {
            auto level = (stopping_ || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
                             ? spdlog::level::info
                             : spdlog::level::warn;
            spdlog::log(level, "lond child for {} (pid {}) ended: {}", it->first, pid,
                        link::describe_wait_status(status));
            totals_.retire(it->first);
            children_.erase(it);
            break;
        }
    }
    update_title();
    mark_changed();
    if (stopping_ && children_.empty()) {
        io_.stop();
    }
}

void Listener::handle_signals() {
    signals_.async_wait([this](std::error_code ec, int sig) {
        if (ec) {
            return;
        }
        switch (sig) {
        case SIGTERM:
        case SIGINT:
            shutdown();
            return;
        case SIGHUP:
        case SIGUSR2:
            // logrotate renamed the files: our new one first, so that the reload's lines
            // land in it, then the children's (they reopen on HUP).
            reopen_logs();
            reload();
            for (auto& [peer, child] : children_) {
                ::kill(child.pid, SIGHUP);
            }
            break;
        default: // USR1: children write their status files
            for (auto& [peer, child] : children_) {
                ::kill(child.pid, SIGUSR1);
            }
            break;
        }
        handle_signals();
    });
}

void Listener::reload() {
    // Config, hosts table and credentials are one set: any of them bad, none is taken. HUP
    // and USR2 (LON-CAPA's "reload the hosts table") do the same: a new peer is served from
    // its first connection, and the child of a peer that left the table is stopped (as
    // LON-CAPA's lond does on USR2), which closes its links.
    // systemd shows the unit "reloading" until READY=1, whether the set was taken or not.
    link::notify_reloading();
    link::ValidatedSet set;
    std::string error;
    try {
        set = link::read_config_set(config_.file);
        error = link::read_credentials(set);
    } catch (const std::exception& e) {
        error = e.what();
    }
    if (!error.empty()) {
        spdlog::error("reload refused, keeping the previous configuration and credentials: {}",
                      error);
        link::write_reload_result(config_, "lond", error);
        link::notify_service("READY=1");
        return;
    }
    bundle_ = link::keep_for_children(std::move(set.bundle));
    Config fresh = std::move(set.config);
    if (fresh.listen_address != config_.listen_address ||
        fresh.listen_port != config_.listen_port) {
        spdlog::warn("listen address changed in {}; restart lond to apply it",
                     config_.file.string());
        fresh.listen_address = config_.listen_address;
        fresh.listen_port = config_.listen_port;
    }
    config_ = std::move(fresh);
    resolve_after_.clear();
    link::warn_unresolved(config_);
    link::log_credentials(set.tls);
    own_not_after_.reset();
    if (set.tls.credentials) {
        own_not_after_ = set.tls.credentials->not_after;
    }
    metrics_.configure(config_.metrics_dir);
    spdlog::info("reloaded {}", config_.file.string());
    link::write_reload_result(config_, "lond", "");
    link::notify_service("READY=1");
    for (auto& [peer, child] : children_) {
        if (config_.hosts.find(peer) == nullptr) {
            spdlog::info("dropping {}: no longer in the hosts table", peer);
            ::kill(child.pid, SIGTERM);
            continue;
        }
        UniqueFd bundle = seal_for(peer);
        if (!bundle) {
            continue;
        }
        if (auto ec = link::send_fd(child.channel.get(), bundle.get(), link::bundle_packet)) {
            // Its channel is full (it is not keeping up) or it is gone: a new child gets the
            // new set at exec.
            spdlog::warn("cannot hand the new configuration to the lond child for {}: {}", peer,
                         ec.message());
        }
    }
    link::return_freed_heap();
}

void Listener::shutdown() {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    spdlog::info("stopping");
    link::notify_service("STOPPING=1");
    std::error_code ignored;
    acceptor_.close(ignored);
    accept_timer_.cancel();
    status_writer_.cancel();
    signals_.cancel(ignored);
    while (!pending_.empty()) {
        std::shared_ptr<InitReader> reader = pending_.front();
        reader->drop();
    }
    std::filesystem::remove(status_path(config_), ignored);
    metrics_.stop();
    for (auto& [peer, child] : children_) {
        ::kill(child.pid, SIGTERM);
    }
    if (children_.empty()) {
        io_.stop();
        return;
    }
    kill_timer_.expires_after(std::chrono::seconds(5));
    kill_timer_.async_wait([this](std::error_code ec) {
        if (ec) {
            return;
        }
        for (auto& [peer, child] : children_) {
            spdlog::warn("lond child for {} (pid {}) did not stop; killing it", peer, child.pid);
            ::kill(child.pid, SIGKILL);
        }
    });
}

void Listener::update_title() {
    proctitle::set(titles::lond_parent(config_.host_id, config_.listen_address,
                                       config_.listen_port, static_cast<int>(children_.size())));
}

} // namespace lon::lond

namespace lon::lond {

void Listener::mark_changed() {
    if (!stopping_) {
        status_writer_.request();
    }
}

void Listener::write_status() {
    std::string json = "{\"role\":\"lond-parent\",\"host\":" + json_string(config_.host_id) +
                       ",\"pid\":" + std::to_string(::getpid()) +
                       ",\"peers\":" + std::to_string(children_.size()) +
                       ",\"pending_inits\":" + std::to_string(pending_.size()) +
                       ",\"pending_cap\":" + std::to_string(pending_cap()) +
                       ",\"counters\":" + counters_.json() +
                       link::privilege_status_json(config_) +
                       ",\"updated\":" + std::to_string(std::time(nullptr)) + "}\n";
    if (!write_file_atomic(status_path(config_), json)) {
        note("status_write_failed", "status", fmt::format("cannot write {}: {}",
                                                          status_path(config_).string(),
                                                          std::strerror(errno)));
    }
}

std::string Listener::render_metrics() {
    // Cost per period: one small file read per running child; the rest is in memory.
    DaemonMetrics m;
    m.daemon = "lond";
    m.children = static_cast<long>(children_.size());
    m.own_cert_not_after = own_not_after_;
    constexpr std::string_view refused = "refused_";
    for (const auto& [name, n] : counters_.values()) {
        if (name.rfind(refused, 0) == 0) {
            m.refusals[name.substr(refused.size())] = n;
        }
    }
    for (const Host& h : config_.hosts.hosts()) {
        if (h.id == config_.host_id) {
            continue;
        }
        PeerMetrics p;
        p.peer = h.id;
        if (auto child = children_.find(h.id); child != children_.end()) {
            auto seen = link::read_peer_status(config_.paths.run_dir / ("lond." + h.id + ".json"));
            // Only the running child's file (see lonc's parent.cpp).
            if (seen && seen->peer == h.id && seen->pid == child->second.pid) {
                p = std::move(*seen);
                totals_.observe(h.id, p.counts);
                if (p.peer_cert_not_after) {
                    peer_not_after_[h.id] = *p.peer_cert_not_after;
                }
            }
        }
        if (auto it = peer_not_after_.find(h.id); it != peer_not_after_.end()) {
            p.peer_cert_not_after = it->second;
        }
        p.counts = totals_.total(h.id);
        m.peers.push_back(std::move(p));
    }
    return format_metrics(m);
}

} // namespace lon::lond
