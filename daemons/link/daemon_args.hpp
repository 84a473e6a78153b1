#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lon::link {

/// Command line shared by lond and lonc. Public: --config F (else $LONLINK_CONFIG, else
/// /etc/lonlink/lonlink.yaml), --foreground, --help, --version, --check (load and validate
/// config, hosts and certificates as a start would, then exit), --print KEY (repeatable: the
/// value of each dotted config key as loaded, one line each, then exit), --hosts-file F
/// --print hosts (the ids of a hosts table alone). Internal (parent → child
/// after exec): --role R --peer ID --fd N --bundle N [--channel N] (bundle: the sealed memfd
/// with the set the parent validated, validated_set.hpp; channel: lonc's control channel).
struct DaemonArgs {
    std::string config;
    bool foreground = false;
    bool help = false;
    bool version = false;
    bool config_given = false; ///< --config on the command line (else the default path)
    bool check = false;
    std::vector<std::string> print;
    /// --hosts-file F (with --print hosts): read only this hosts table, no config (the CA
    /// host's sign-response checks a request's id against it).
    std::string hosts_file;
    std::string role;  ///< empty for the parent
    std::string peer;
    int fd = -1;
    int bundle = -1;
    int channel = -1;
};

/// Parses argv; on a usage error returns nullopt and sets `error`.
[[nodiscard]] std::optional<DaemonArgs> parse_daemon_args(int argc, char** argv,
                                                           std::string& error);

/// The config path a program uses when none is given on the command line.
[[nodiscard]] std::string default_config_path();

/// Said after a config file that cannot be read: how to name another one.
inline constexpr const char* config_hint =
    " (name another with --config FILE or the LONLINK_CONFIG variable)";

} // namespace lon::link
