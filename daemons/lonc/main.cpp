// lonc: the connecting half of lonlink. The parent binds one unix socket per peer, detaches
// and execs a child per peer on demand; children (--role peer) keep the links to that peer's
// lond. Setup order: config → folders for user: → credentials → drop to user: → logging →
// pid file → bind (as the user, in its set-group-id socket_dir) → detach → serve.

#include <optional>

#include <spdlog/spdlog.h>

#include "daemon_main.hpp"
#include "daemonize.hpp"
#include "log.hpp"
#include "parent.hpp"
#include "peer_child.hpp"
#include "pid_file.hpp"
#include "service_notify.hpp"

namespace {

constexpr const char* usage =
    "usage: lonc [--config FILE] [--foreground | --check | --print KEY...]\n"
    "  Keeps links to every peer's lond; local programs talk to <socket_dir>/<peer>.\n"
    "  --config FILE   configuration (default $LONLINK_CONFIG or /etc/lonlink/lonlink.yaml)\n"
    "  --foreground    stay attached to the terminal and log to stderr as well\n"
    "  --check         load and validate config, hosts table and certificates as a start\n"
    "                  would, say whether they are good, and exit (0 good, 2 or 3 not)\n"
    "  --print KEY     print the value of a dotted config key as loaded (listen.port,\n"
    "                  paths.cert_dir, ...; `hosts`: every host id); repeatable; then exit\n"
    "  --hosts-file F --print hosts   the host ids of hosts table F alone (no config)\n"
    "  Signals: TERM/INT stop, HUP reload, USR1 revive DEAD links and write status.\n"
    "  Exit status: 0 ok, 2 usage or configuration error, 3 other startup error.\n";

int run_parent(lon::link::ValidatedSet& set, const lon::link::DaemonArgs& args, lon::UniqueFd) {
    const lon::Config& cfg = set.config;
    lon::PidFile pid_file(cfg.paths.run_dir / "lonc.pid");
    auto sockets = lon::lonc::bind_peer_sockets(cfg);
    std::optional<lon::link::Daemonizer> daemon;
    if (!args.foreground) {
        daemon.emplace(lon::link::Daemonizer::detach(
            "lonc: failed to start; see " + (cfg.paths.log_dir / "lonc.log").string()));
        pid_file.rewrite();
    }
    asio::io_context io{1};
    std::string ready = fmt::format("lonc {} for {} ready, sockets in {}", LONLINK_VERSION,
                                    cfg.host_id, cfg.paths.socket_dir.string());
    lon::lonc::Parent parent(io, set, std::move(sockets), args.foreground); // takes `set` over
    parent.start();
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
        {"lonc", usage, run_parent, [](lon::link::ValidatedSet& set, const lon::link::DaemonArgs& a) {
             return lon::lonc::run_peer_child(set, a.peer, a.fd, a.channel);
         },
         {}, // lonc binds nothing that needs root
         lon::lonc::child_tls_contexts});
}
