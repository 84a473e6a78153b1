#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "host_table.hpp"
#include "log.hpp"
#include "units.hpp"

namespace lon {

/// Thrown at startup (only) for an unusable config or hosts file. what() reads
/// "<file>:<line>: <key>: <problem>" (line 1-based; key dotted, e.g. "lonc.retries").
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Paths {
    std::filesystem::path cert_dir, socket_dir, run_dir, log_dir, spool_dir, state_dir;
};

struct TlsSettings {
    std::optional<std::filesystem::path> key_passphrase_file;
    int expiry_warning_days = 14;
};

struct LoncSettings {
    bool allow_insecure = true;
    int max_connections = 3;
    int retries = 5;
    Millis stable_after{30'000};
    Millis backoff_initial{1'000};
    Millis backoff_max{300'000};
    Millis idle_timeout{300'000};
    Millis request_timeout{300'000};
    Millis keepalive{30'000};
    /// Requests waiting for a free connection (all local clients together); over it the
    /// local clients are no longer read until the queue drains (backpressure).
    std::size_t max_queued = 10'000;
    /// Requests one local connection may have outstanding (sent, reply not yet written back);
    /// over it that connection is no longer read until replies go out.
    std::size_t max_outstanding_per_client = 1'000;
    /// A local connection with nothing outstanding that sends nothing for this long is closed.
    Millis client_idle_timeout{120'000};
    /// Durable requests in the spool of one peer; over it lonc:critical is answered
    /// con_failed (counted spool_full).
    std::size_t max_spooled = 10'000;
};

struct LondSettings {
    bool allow_insecure = true;
    std::optional<std::filesystem::path> handler;
    std::vector<std::string> insecure_commands{"ping", "pong", "echo", "time", "load", "version"};
    double load_limit = 2.0;
    /// A session that has received nothing for this long is closed. Unset in the file: four
    /// times lonc.keepalive (the peer pings an idle link every keepalive).
    Millis idle_timeout{120'000};
    /// Handler requests running at once per lond child; more wait in a queue of
    /// max_handler_queue, beyond which requests are answered error:busy.
    std::size_t max_handler_requests = 64;
    std::size_t max_handler_queue = 1'024;
    /// Persistent unix connections to the handler per lond child (opened as load needs them;
    /// requests are pipelined on them).
    std::size_t handler_connections = 4;
    /// A durable request's record that lonc never acknowledged is deleted after this long
    /// (a resend after that would run again).
    Millis critical_retention{30LL * 24 * 3'600'000};
};

struct Limits {
    std::uint64_t max_message_bytes = 16ULL * 1024 * 1024;
    Millis handshake_timeout{10'000};
    /// Connections accepted by the lond parent that have not sent their init line yet, in all
    /// and from one source address. Over the total the oldest is dropped; over the
    /// per-address bound the newest.
    std::size_t max_pending_inits = 512;
    std::size_t max_pending_inits_per_address = 32;
    /// Freed heap a child keeps for the next large message while large messages (16 KiB or
    /// more) pass, instead of giving it back and faulting it in again (daemons/link/heap.hpp,
    /// HeapKeeper); given back 2 s after the last one. Below 4 MiB (what every process keeps
    /// anyway) it changes nothing.
    std::uint64_t large_message_heap = 64ULL * 1024 * 1024;
};

/// The whole validated configuration of one host. All paths are absolute (relative ones are
/// resolved against the config file's folder).
struct Config {
    std::filesystem::path file;
    std::string host_id;
    std::filesystem::path hosts_file;
    std::string listen_address = "0.0.0.0";
    std::uint16_t listen_port = 5663;
    Paths paths;
    std::optional<std::string> socket_group = std::string("www");
    /// Where each daemon parent rewrites <daemon>.prom (Prometheus text format) every
    /// metrics_period; unset: no metrics files.
    std::optional<std::filesystem::path> metrics_dir;
    /// The user a daemon started as root runs as (validated to exist); unset: it stays root.
    std::optional<std::string> user;
    LogSettings log;
    TlsSettings tls;
    LoncSettings lonc;
    LondSettings lond;
    Limits limits;
    HostTable hosts;

    /// This host's own entry in the hosts table (validated to exist).
    [[nodiscard]] const Host& self() const;
};

/// The bytes a configuration was parsed from: the config file and the hosts table it names.
/// A parent keeps them to hand its children exactly what it validated (link/bundle.hpp).
struct ConfigSources {
    std::string config_text;
    std::string hosts_text;
};

/// Loads and validates `file` and the hosts table it names. Unknown keys, wrong types, bad
/// durations/sizes, a host_id missing from the hosts table: ConfigError. Startup and reload
/// only. When `sources` is given, it receives the bytes that were parsed.
[[nodiscard]] Config load_config(const std::filesystem::path& file,
                                 ConfigSources* sources = nullptr);
/// The same from bytes read earlier (by the parent): neither file is read; errors and
/// relative paths still refer to `file` and the hosts_file it names.
[[nodiscard]] Config load_config_from(const std::filesystem::path& file,
                                      const ConfigSources& sources);

} // namespace lon
