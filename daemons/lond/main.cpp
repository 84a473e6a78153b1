// lond: the listening half of lonlink. The parent binds listen.address:port, detaches and
// serves; children (--role peer) are exec'd by the parent, one per peer host.
// Setup order: config → folders for user: → credentials → (port < 1024: bind) → drop to
// user: → logging → pid file → bind → detach → serve (docs/privileges-and-logs.md).

#include <optional>

#include <spdlog/spdlog.h>

#include "daemon_main.hpp"
#include "host_port.hpp"
#include "daemonize.hpp"
#include "listener.hpp"
#include "log.hpp"
#include "net.hpp"
#include "peer_server.hpp"
#include "pid_file.hpp"
#include "service_notify.hpp"

namespace {

constexpr const char* usage =
    "usage: lond [--config FILE] [--foreground | --check | --print KEY...]\n"
    "  Listens for lonlink peers (TCP 5663 by default) and serves their requests.\n"
    "  --config FILE   configuration (default $LONLINK_CONFIG or /etc/lonlink/lonlink.yaml)\n"
    "  --foreground    stay attached to the terminal and log to stderr as well\n"
    "  --check         load and validate config, hosts table and certificates as a start\n"
    "                  would, say whether they are good, and exit (0 good, 2 or 3 not)\n"
    "  --print KEY     print the value of a dotted config key as loaded (listen.port,\n"
    "                  paths.cert_dir, ...; `hosts`: every host id); repeatable; then exit\n"
    "  --hosts-file F --print hosts   the host ids of hosts table F alone (no config)\n"
    "  Signals: TERM/INT stop, HUP reload, USR1 write status, USR2 reload (as HUP).\n"
    "  After a reload, the child of a peer no longer in the hosts table is stopped.\n"
    "  Exit status: 0 ok, 2 usage or configuration error, 3 other startup error.\n";

int run_parent(lon::link::ValidatedSet& set, const lon::link::DaemonArgs& args,
               lon::UniqueFd bound) {
    const lon::Config& cfg = set.config;
    lon::PidFile pid_file(cfg.paths.run_dir / "lond.pid");
    // Bound as the user (after the pid file: a second lond says "already running"), unless
    // the port needed root (bind_before_drop).
    lon::UniqueFd listen_fd =
        bound ? std::move(bound) : lon::link::bind_tcp_listener(cfg.listen_address, cfg.listen_port);
    std::optional<lon::link::Daemonizer> daemon;
    if (!args.foreground) {
        daemon.emplace(lon::link::Daemonizer::detach(
            "lond: failed to start; see " + (cfg.paths.log_dir / "lond.log").string()));
        pid_file.rewrite();
    }
    asio::io_context io{1};
    std::string ready = fmt::format("lond {} for {} listening on {}", LONLINK_VERSION, cfg.host_id,
                                    lon::host_port(cfg.listen_address, cfg.listen_port));
    lon::lond::Listener listener(io, set, std::move(listen_fd), args.foreground); // takes `set`
    listener.start();
    spdlog::info("{}", ready);
    if (daemon) {
        daemon->ready();
    }
    // Bound and serving: the same point a starter is released at (systemd Type=notify).
    lon::link::notify_service(("READY=1\nSTATUS=" + ready).c_str());
    io.run();
    spdlog::info("stopped");
    lon::flush_logs();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return lon::link::daemon_main(
        argc, argv,
        {"lond", usage, run_parent, [](lon::link::ValidatedSet& set, const lon::link::DaemonArgs& a) {
             return lon::lond::run_peer_server(set, a.peer, a.fd);
         },
         [](const lon::Config& cfg) {
             // Ports below 1024 need root (CAP_NET_BIND_SERVICE); 5663 does not.
             return cfg.listen_port < 1024
                        ? lon::link::bind_tcp_listener(cfg.listen_address, cfg.listen_port)
                        : lon::UniqueFd();
         },
         lon::lond::child_tls_contexts});
}
