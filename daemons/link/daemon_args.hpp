#pragma once

#include <optional>
#include <string>

namespace lon::link {

/// Command line shared by lond and lonc. Public: --config F (else $LONLINK_CONFIG, else
/// /etc/lonlink/lonlink.yaml), --foreground, --help, --version. Internal (parent → child
/// after exec): --role R --peer ID --fd N --bundle N [--channel N] (bundle: the sealed memfd
/// with the set the parent validated, validated_set.hpp; channel: lonc's control channel).
struct DaemonArgs {
    std::string config;
    bool foreground = false;
    bool help = false;
    bool version = false;
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

} // namespace lon::link
