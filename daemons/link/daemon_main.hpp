#pragma once

#include <functional>
#include <string>

#include "config.hpp"
#include "daemon_args.hpp"
#include "unique_fd.hpp"
#include "validated_set.hpp"

namespace lon::link {

/// What differs between lond and lonc at startup.
struct DaemonProgram {
    const char* name;  ///< "lond" / "lonc": comm, log file stem, messages
    const char* usage; ///< --help text
    /// The parent role; runs after the run/log/state folders exist, privileges are dropped
    /// (user:) and logging is set up, with the set it read and validated from disk and what
    /// bind_before_drop returned (invalid when it did not run).
    std::function<int(ValidatedSet&, const DaemonArgs&, UniqueFd)> run_parent;
    /// The per-peer child role (--role peer --peer ID --fd N --bundle N), with the set its
    /// parent validated (read from the bundle, never from disk).
    std::function<int(ValidatedSet&, const DaemonArgs&)> run_child;
    /// Run as root just before the drop to `user:` (and only then): binds what the user
    /// could not (lond: a port below 1024). May be empty.
    std::function<UniqueFd(const Config&)> bind_before_drop;
    /// The TLS context a child of this program uses (lonc: client, lond: server): the only
    /// one it builds from its bundle.
    TlsContexts child_tls = TlsContexts::both;
};

/// The warning of a daemon started as root without `user:` (log, status files, --check).
inline constexpr const char* root_warning =
    "runs as root: no user: in the config; set one (e.g. user: lonlink) so that lond and "
    "lonc run unprivileged (docs/privileges-and-logs.md)";

/// The "user" and, for root without `user:`, "warning" members of a parent's status JSON
/// (",\"user\":\"lonlink\""...), to append inside the object.
[[nodiscard]] std::string privilege_status_json(const Config& config);

/// Logs (warning) every peer of the hosts table whose name did not resolve: it is kept and
/// resolved again when it is needed (lonc: at each connection attempt; lond: when it
/// connects, refused as address_mismatch until then).
void warn_unresolved(const Config& config);

/// Logs whether our certificate is usable now (and why not: it is checked again at each use).
void log_credentials(const TlsLoad& tls);

/// The whole main() of a daemon: title setup, SIGPIPE, arguments, config (exit 2 with
/// "<name>: <file>:<line>: <key>: <problem>" on stderr), then the role. Startup exceptions
/// are logged and printed, exit 3.
int daemon_main(int argc, char** argv, const DaemonProgram& program);

} // namespace lon::link
