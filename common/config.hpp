#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "host_table.hpp"
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
};

struct LondSettings {
    bool allow_insecure = true;
    std::optional<std::filesystem::path> handler;
    std::vector<std::string> insecure_commands{"ping", "pong", "echo", "time", "load", "version"};
    double load_limit = 2.0;
};

struct Limits {
    std::uint64_t max_message_bytes = 16ULL * 1024 * 1024;
    Millis handshake_timeout{10'000};
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
    TlsSettings tls;
    LoncSettings lonc;
    LondSettings lond;
    Limits limits;
    HostTable hosts;

    /// This host's own entry in the hosts table (validated to exist).
    [[nodiscard]] const Host& self() const;
};

/// Loads and validates `file` and the hosts table it names. Unknown keys, wrong types, bad
/// durations/sizes, a host_id missing from the hosts table: ConfigError. Startup only.
[[nodiscard]] Config load_config(const std::filesystem::path& file);

} // namespace lon
