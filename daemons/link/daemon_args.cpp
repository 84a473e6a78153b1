#include "daemon_args.hpp"

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace lon::link {

std::string default_config_path() {
    const char* env = std::getenv("LONLINK_CONFIG");
    return (env != nullptr && *env != '\0') ? env : "/etc/lonlink/lonlink.yaml";
}

std::optional<DaemonArgs> parse_daemon_args(int argc, char** argv, std::string& error) {
    DaemonArgs a;
    a.config = default_config_path();
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) {
                error = std::string(arg) + " needs a value";
                return false;
            }
            out = argv[++i];
            return true;
        };
        if (arg == "--config" || arg == "-c") {
            if (!value(a.config)) {
                return std::nullopt;
            }
            a.config_given = true;
        } else if (arg == "--hosts-file") {
            if (!value(a.hosts_file)) {
                return std::nullopt;
            }
        } else if (arg == "--check") {
            a.check = true;
        } else if (arg == "--print") {
            if (!value(a.print.emplace_back())) {
                return std::nullopt;
            }
        } else if (arg == "--foreground" || arg == "-f") {
            a.foreground = true;
        } else if (arg == "--help" || arg == "-h") {
            a.help = true;
        } else if (arg == "--version") {
            a.version = true;
        } else if (arg == "--role") {
            if (!value(a.role)) {
                return std::nullopt;
            }
        } else if (arg == "--peer") {
            if (!value(a.peer)) {
                return std::nullopt;
            }
        } else if (arg == "--fd" || arg == "--bundle" || arg == "--channel") {
            std::string s;
            if (!value(s)) {
                return std::nullopt;
            }
            int& out = arg == "--fd" ? a.fd : (arg == "--bundle" ? a.bundle : a.channel);
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
            if (ec != std::errc{} || p != s.data() + s.size() || out < 0) {
                error = std::string(arg) + " needs a descriptor number";
                return std::nullopt;
            }
        } else {
            error = "unknown argument: " + std::string(arg);
            return std::nullopt;
        }
    }
    return a;
}

} // namespace lon::link
