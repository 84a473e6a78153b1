#include "parent.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <set>

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "critical.hpp"
#include "daemon_main.hpp"
#include "fd_passing.hpp"
#include "file_write.hpp"
#include "json.hpp"
#include "log.hpp"
#include "net.hpp"
#include "proctitle.hpp"
#include "reload_result.hpp"
#include "service_notify.hpp"
#include "spawn.hpp"
#include "titles.hpp"

namespace lon::lonc {
namespace {

constexpr auto restart_backoff_initial = std::chrono::seconds(1);
constexpr auto restart_backoff_max = std::chrono::seconds(60);
/// A child that lived this long before dying starts the backoff over.
constexpr auto healthy_lifetime = std::chrono::seconds(60);

UniqueFd bind_peer_socket(const Config& cfg, const std::string& peer) {
    std::string warning;
    UniqueFd fd = link::bind_unix_listener(cfg.paths.socket_dir / peer, cfg.socket_group, warning);
    if (!warning.empty()) {
        spdlog::warn("{}", warning);
    }
    return fd;
}

} // namespace

bool Parent::spool_pending(const std::string& peer) const {
    std::error_code ec;
    auto spool = config_.paths.spool_dir / peer;
    for (auto it = std::filesystem::directory_iterator(spool, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (proto::parse_spool_name(it->path().filename().string())) {
            return true; // a temp file alone is no request
        }
    }
    return false;
}

struct Parent::Slot {
    Slot(asio::io_context& io, std::string id, UniqueFd fd)
        : peer(std::move(id)), acceptor(io), restart_timer(io) {
        acceptor.assign(asio::local::stream_protocol(), fd.release());
    }
    std::string peer;
    /// Watches the listening socket while no child runs (a client then starts one).
    asio::local::stream_protocol::acceptor acceptor;
    /// The listening socket while a child serves it: out of our epoll set, so that the
    /// child's clients do not wake us (one wakeup per local connection otherwise).
    UniqueFd unwatched;

    /// The listening socket, watched or not.
    int listen_fd() { return acceptor.is_open() ? acceptor.native_handle() : unwatched.get(); }

    /// Takes the listening socket out of the reactor (a child serves it now). release()
    /// removes it from the epoll set explicitly; closing a descriptor would not, since the
    /// child holds the same socket.
    void unwatch() {
        if (acceptor.is_open()) {
            std::error_code ec;
            int fd = acceptor.release(ec);
            if (ec) {
                spdlog::warn("lonc child for {}: cannot stop watching its socket: {}", peer,
                             ec.message());
                return; // still watched: a wakeup per client, nothing worse
            }
            unwatched.reset(fd);
        }
    }

    /// Puts the listening socket back into the reactor (no child runs).
    bool rewatch() {
        if (!acceptor.is_open() && unwatched) {
            std::error_code ec;
            acceptor.assign(asio::local::stream_protocol(), unwatched.get(), ec);
            if (ec) {
                spdlog::error("lonc child for {}: cannot watch its socket: {}", peer,
                              ec.message());
                return false;
            }
            (void)unwatched.release();
        }
        return true;
    }

    void close_listener() {
        std::error_code ignored;
        acceptor.close(ignored);
        unwatched.reset();
    }
    asio::steady_timer restart_timer;
    pid_t pid = -1;
    bool restarting = false; ///< its child ended abnormally; a timer starts the next one
    UniqueFd channel; ///< our end of the running child's control channel
    std::chrono::steady_clock::time_point started{};
    std::chrono::milliseconds backoff = restart_backoff_initial;
    bool removed = false; ///< left the hosts table: drop once its child is gone
    /// The peer's certificate expiry as its last child reported it (kept while idle).
    std::optional<std::time_t> peer_cert_not_after;
};

std::map<std::string, UniqueFd> bind_peer_sockets(const Config& config) {
    std::filesystem::create_directories(config.paths.socket_dir);
    std::vector<std::string> peers;
    for (const Host& h : config.hosts.hosts()) {
        if (h.id != config.host_id) {
            peers.push_back(h.id);
        }
    }
    // One batch: the per-process part of a bind is done once, not once per host.
    std::vector<std::string> warnings;
    auto fds = link::bind_unix_listeners(config.paths.socket_dir, peers, config.socket_group,
                                         warnings);
    for (const auto& w : warnings) {
        spdlog::warn("{}", w);
    }
    std::map<std::string, UniqueFd> sockets;
    for (std::size_t i = 0; i < peers.size(); ++i) {
        sockets.emplace(std::move(peers[i]), std::move(fds[i]));
    }
    return sockets;
}

Parent::Parent(asio::io_context& io, link::ValidatedSet& set,
               std::map<std::string, UniqueFd> sockets, bool foreground)
    : io_(io), config_(std::move(set.config)),
      bundle_(link::keep_for_children(std::move(set.bundle))), foreground_(foreground),
      signals_(io), reaper_(io, [this](pid_t pid, int status) { on_child_exit(pid, status); }),
      kill_timer_(io), status_writer_(io, std::chrono::seconds(1), [this] { write_status(); }),
      metrics_(io, "lonc", [this] { return render_metrics(); }) {
    if (set.tls.credentials) {
        own_not_after_ = set.tls.credentials->not_after;
    }
    for (auto& [peer, fd] : sockets) {
        add_slot(peer, std::move(fd));
    }
    link::return_freed_heap(); // what parsing the hosts table took (validated_set.hpp)
}

UniqueFd Parent::seal_for(const std::string& peer) const {
    std::error_code ec;
    UniqueFd fd = link::seal_bundle_for_peer(bundle_, config_, peer, ec);
    if (!fd) {
        spdlog::error("cannot seal the configuration for the lonc child for {}: {}", peer,
                      ec.message());
    }
    return fd;
}

Parent::~Parent() = default;

void Parent::add_slot(const std::string& peer, UniqueFd fd) {
    slots_[peer] = std::make_unique<Slot>(io_, peer, std::move(fd));
}

void Parent::start() {
    // USR2 too: LON-CAPA admins send it for a changed host table, and its default action
    // would kill this parent and, through PDEATHSIG, every link of the host.
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) {
        signals_.add(sig);
    }
    handle_signals();
    // One listing of spool_dir instead of a failed open of <spool_dir>/<peer> per peer (a
    // spool folder is made when a peer's first durable request is spooled).
    std::set<std::string> spooled;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(config_.paths.spool_dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        spooled.insert(it->path().filename().string());
    }
    for (auto& [peer, slot] : slots_) {
        // Durable requests spooled before a restart are delivered without waiting for a client.
        if (spooled.count(peer) > 0 && spool_pending(peer)) {
            spawn(*slot);
        } else {
            watch(*slot);
        }
    }
    update_title();
    // The first at once (loncontrol status lists the peers from it); it also takes what
    // update_title() asked for, so the file is not written again a second later.
    status_writer_.run_now();
    metrics_.configure(config_.metrics_dir);
}

void Parent::watch(Slot& slot) {
    slot.restarting = false;
    if (!slot.rewatch()) {
        return;
    }
    slot.acceptor.async_wait(asio::socket_base::wait_read, [this, &slot](std::error_code ec) {
        if (ec || stopping_ || slot.pid > 0 || slot.removed) {
            return;
        }
        spawn(slot);
    });
}

void Parent::spawn(Slot& slot) {
    std::vector<std::string> args{"--config", config_.file.string(), "--role", "peer",
                                  "--peer", slot.peer, "--fd", "3", "--channel", "4",
                                  "--bundle", "5"};
    if (foreground_) {
        args.emplace_back("--foreground");
    }
    int sv[2];
    pid_t pid = -1;
    UniqueFd bundle = seal_for(slot.peer);
    if (bundle && ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) {
        slot.channel.reset(sv[0]);
        UniqueFd theirs(sv[1]);
        pid = link::spawn_self(args, {{slot.listen_fd(), 3},
                                      {theirs.get(), 4},
                                      {bundle.get(), 5}});
    }
    if (pid < 0) {
        slot.channel.reset();
        spdlog::error("cannot start lonc child for {}: {}", slot.peer, std::strerror(errno));
        slot.restarting = true;
        update_title();
        slot.restart_timer.expires_after(slot.backoff);
        slot.restart_timer.async_wait([this, &slot](std::error_code ec) {
            if (!ec) {
                watch(slot);
            }
        });
        return;
    }
    slot.pid = pid;
    slot.restarting = false;
    slot.unwatch();
    slot.started = std::chrono::steady_clock::now();
    spdlog::info("started lonc child for {} (pid {})", slot.peer, pid);
    update_title();
}

void Parent::on_child_exit(pid_t pid, int status) {
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
        Slot& slot = *it->second;
        if (slot.pid != pid) {
            continue;
        }
        slot.pid = -1;
        slot.channel.reset();
        totals_.retire(slot.peer);
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        spdlog::log(clean || stopping_ ? spdlog::level::info : spdlog::level::warn,
                    "lonc child for {} (pid {}) ended: {}", slot.peer, pid,
                    link::describe_wait_status(status));
        if (slot.removed) {
            std::error_code ignored;
            std::filesystem::remove(config_.paths.socket_dir / slot.peer, ignored);
            totals_.forget(slot.peer);
            slots_.erase(it);
        } else if (!stopping_) {
            bool spooled = spool_pending(slot.peer);
            if (clean && !spooled) {
                slot.backoff = restart_backoff_initial;
                watch(slot);
            } else {
                auto lived = std::chrono::steady_clock::now() - slot.started;
                if (clean || lived >= healthy_lifetime) {
                    slot.backoff = restart_backoff_initial;
                }
                // A spool left behind is delivered without waiting for a local client (it
                // may never come); otherwise the next client starts the child.
                spdlog::warn("restarting lonc child for {} {} in {} ms", slot.peer,
                             spooled ? "to deliver its spool" : "on demand",
                             slot.backoff.count());
                slot.restarting = true;
                slot.restart_timer.expires_after(slot.backoff);
                slot.restart_timer.async_wait([this, &slot](std::error_code ec) {
                    if (ec || stopping_ || slot.pid > 0 || slot.removed) {
                        return;
                    }
                    if (spool_pending(slot.peer)) {
                        spawn(slot);
                    } else {
                        watch(slot);
                    }
                });
                slot.backoff = std::min<std::chrono::milliseconds>(slot.backoff * 2,
                                                                   restart_backoff_max);
            }
        }
        break;
    }
    update_title();
    if (stopping_) {
        bool any = std::any_of(slots_.begin(), slots_.end(),
                               [](const auto& s) { return s.second->pid > 0; });
        if (!any) {
            io_.stop();
        }
    }
}

void Parent::forward(int sig) {
    for (auto& [peer, slot] : slots_) {
        if (slot->pid > 0) {
            ::kill(slot->pid, sig);
        }
    }
}

void Parent::handle_signals() {
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
        case SIGUSR2: // as lond does (LON-CAPA's signal for a changed host table)
            // logrotate renamed the files: our new one first, so that the reload's lines
            // land in it, then the children's (they reopen on HUP).
            reopen_logs();
            reload();
            forward(SIGHUP);
            break;
        default: // USR1: revive DEAD links, reset retries, write status
            spdlog::info("USR1: reviving links");
            forward(SIGUSR1);
            break;
        }
        handle_signals();
    });
}

void Parent::reload() {
    // Config, hosts table and credentials are one set: any of them bad, none is taken.
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
        link::write_reload_result(config_, "lonc", error);
        link::notify_service("READY=1");
        return;
    }
    bundle_ = link::keep_for_children(std::move(set.bundle));
    Config fresh = std::move(set.config);
    // Peers that joined get a socket; peers that left lose theirs once their child is gone.
    for (const Host& h : fresh.hosts.hosts()) {
        if (h.id == fresh.host_id || slots_.count(h.id) > 0) {
            continue;
        }
        try {
            add_slot(h.id, bind_peer_socket(fresh, h.id));
            watch(*slots_[h.id]);
            spdlog::info("new peer {}", h.id);
        } catch (const std::exception& e) {
            spdlog::error("new peer {}: {}", h.id, e.what());
        }
    }
    for (auto it = slots_.begin(); it != slots_.end();) {
        Slot& slot = *it->second;
        if (fresh.hosts.find(slot.peer) != nullptr) {
            ++it;
            continue;
        }
        spdlog::info("peer {} left the hosts table", slot.peer);
        slot.removed = true;
        std::error_code ignored;
        slot.close_listener();
        if (slot.pid > 0) {
            ::kill(slot.pid, SIGTERM);
            ++it;
        } else {
            std::filesystem::remove(config_.paths.socket_dir / slot.peer, ignored);
            totals_.forget(slot.peer);
            it = slots_.erase(it);
        }
    }
    config_ = std::move(fresh);
    link::warn_unresolved(config_);
    link::log_credentials(set.tls);
    own_not_after_.reset();
    if (set.tls.credentials) {
        own_not_after_ = set.tls.credentials->not_after;
    }
    metrics_.configure(config_.metrics_dir);
    // Running children take the new set from their channel (a child never reads the disk).
    for (auto& [peer, slot] : slots_) {
        if (slot->pid > 0 && slot->channel) {
            UniqueFd bundle = seal_for(peer);
            if (!bundle) {
                continue;
            }
            if (auto ec = link::send_fd(slot->channel.get(), bundle.get(), link::bundle_packet)) {
                spdlog::warn("cannot hand the new configuration to the lonc child for {}: {}",
                             peer, ec.message());
            }
        }
    }
    spdlog::info("reloaded {}", config_.file.string());
    link::write_reload_result(config_, "lonc", "");
    link::notify_service("READY=1");
    update_title();
    link::return_freed_heap();
}

void Parent::shutdown() {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    spdlog::info("stopping");
    link::notify_service("STOPPING=1");
    std::error_code ignored;
    signals_.cancel(ignored);
    for (auto& [peer, slot] : slots_) {
        slot->close_listener();
        slot->restart_timer.cancel();
        std::filesystem::remove(config_.paths.socket_dir / peer, ignored);
    }
    status_writer_.cancel();
    std::filesystem::remove(status_path(), ignored);
    metrics_.stop();
    forward(SIGTERM);
    bool any = std::any_of(slots_.begin(), slots_.end(),
                           [](const auto& s) { return s.second->pid > 0; });
    if (!any) {
        io_.stop();
        return;
    }
    kill_timer_.expires_after(std::chrono::seconds(5));
    kill_timer_.async_wait([this](std::error_code ec) {
        if (!ec) {
            spdlog::warn("children did not stop in time; killing them");
            forward(SIGKILL);
        }
    });
}

void Parent::update_title() {
    int children = static_cast<int>(std::count_if(
        slots_.begin(), slots_.end(), [](const auto& s) { return s.second->pid > 0; }));
    proctitle::set(titles::lonc_parent(config_.host_id, children));
    status_writer_.request();
}

std::filesystem::path Parent::status_path() const {
    return config_.paths.run_dir / "lonc.json";
}

void Parent::write_status() {
    if (stopping_) {
        return; // shutdown removes it
    }
    // Every peer it serves, child or not: lonc starts children on demand, so ps alone does
    // not show the idle ones (loncontrol status lists them from here).
    std::string peers;
    for (const auto& [peer, slot] : slots_) {
        if (slot->removed) {
            continue;
        }
        const char* child = slot->pid > 0 ? "running" : (slot->restarting ? "restarting" : "idle");
        peers += std::string(peers.empty() ? "" : ",") + "{\"peer\":" + json_string(peer) +
                 ",\"child\":\"" + child + "\",\"pid\":" +
                 (slot->pid > 0 ? std::to_string(slot->pid) : "null") + "}";
    }
    std::string json = "{\"role\":\"lonc-parent\",\"host\":" + json_string(config_.host_id) +
                       ",\"pid\":" + std::to_string(::getpid()) + ",\"peers\":[" + peers +
                       "]" + link::privilege_status_json(config_) +
                       ",\"updated\":" + std::to_string(std::time(nullptr)) + "}\n";
    if (!write_file_atomic(status_path(), json)) {
        // At most once a second (status_writer_): no flood.
        spdlog::warn("cannot write {}: {}", status_path().string(), std::strerror(errno));
    }
}

long Parent::spool_depth(const std::string& peer) const {
    long n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(config_.paths.spool_dir / peer, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (proto::parse_spool_name(it->path().filename().string())) {
            ++n;
        }
    }
    return n;
}

std::string Parent::render_metrics() {
    // Cost per period: one small file read per running child, one folder listing per peer
    // whose child is restarting; nothing for idle peers (their spool is empty: a spool
    // starts a child).
    DaemonMetrics m;
    m.daemon = "lonc";
    m.own_cert_not_after = own_not_after_;
    for (auto reason : lonc_refusal_reasons()) {
        m.refusals[std::string(reason)] = 0; // listed while zero, as in the status files
    }
    for (auto& [peer, slot] : slots_) {
        if (slot->removed) {
            continue;
        }
        PeerMetrics p;
        p.peer = peer;
        p.retries_remaining = config_.lonc.retries; // a child starts with the full budget
        p.spool_depth = slot->restarting ? spool_depth(peer) : 0;
        if (slot->pid > 0) {
            ++m.children;
            auto seen = link::read_peer_status(config_.paths.run_dir / ("lonc." + peer + ".json"));
            // Only the running child's file: one left by the child before it (killed, or
            // written on its way out) holds counts already in the peer's base.
            if (seen && seen->peer == peer && seen->pid == slot->pid) {
                p = std::move(*seen);
                totals_.observe(peer, p.counts);
                if (p.peer_cert_not_after) {
                    slot->peer_cert_not_after = p.peer_cert_not_after;
                }
            } else {
                p.state = "connecting"; // started, no status file yet
            }
        }
        p.peer_cert_not_after = slot->peer_cert_not_after;
        p.counts = totals_.total(peer);
        for (const auto& [reason, n] : p.counts.refusals) {
            m.refusals[reason] += n;
        }
        m.peers.push_back(std::move(p));
    }
    return format_metrics(m);
}

} // namespace lon::lonc
