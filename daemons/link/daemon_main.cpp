#include "daemon_main.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "log.hpp"
#include "net.hpp"
#include "proctitle.hpp"
#include "spawn.hpp"
#include "tls_credentials.hpp"

namespace lon::link {
namespace {

/// Raises the soft RLIMIT_NOFILE to the hard limit (children inherit it) and logs the result
/// once: a daemon serving many peers and local clients should not run out of descriptors
/// at a default soft limit of 1024.
void raise_descriptor_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        spdlog::warn("getrlimit(RLIMIT_NOFILE): {}", std::strerror(errno));
        return;
    }
    rlim_t before = lim.rlim_cur;
    if (lim.rlim_cur != lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            spdlog::warn("cannot raise the descriptor limit from {} to {}: {}", before,
                         lim.rlim_max, std::strerror(errno));
            return;
        }
        spdlog::info("descriptor limit raised from {} to {}", before, lim.rlim_cur);
        return;
    }
    spdlog::info("descriptor limit {} (the hard limit)", lim.rlim_cur);
}

} // namespace

void warn_unresolved(const Config& config) {
    for (const Host& h : config.hosts.hosts()) {
        if (!h.resolve_error.empty()) {
            spdlog::warn("{}; {} stays unreachable until it resolves (tried again on use)",
                         h.resolve_error, h.id);
        }
    }
}

int daemon_main(int argc, char** argv, const DaemonProgram& program) {
    // Before anything else: our binary may be replaced (upgraded) while we run.
    bool have_exe = open_own_executable();
    int exe_errno = errno;
    proctitle::save_args(argc, argv);
    proctitle::set_comm(program.name);
    ignore_sigpipe();
    std::string error;
    auto args = parse_daemon_args(argc, argv, error);
    if (!args) {
        std::fprintf(stderr, "%s: %s\n%s", program.name, error.c_str(), program.usage);
        return 2;
    }
    if (args->help) {
        std::fputs(program.usage, stdout);
        return 0;
    }
    if (args->version) {
        std::printf("%s (lonlink) %s\n", program.name, LONLINK_VERSION);
        return 0;
    }
    Config cfg;
    try {
        cfg = load_config(args->config);
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "%s: %s\n", program.name, e.what());
        return 2;
    }
    try {
        if (args->role == "peer") {
            if (args->peer.empty() || args->fd < 0) {
                std::fprintf(stderr, "%s: --role peer needs --peer and --fd\n", program.name);
                return 2;
            }
            init_logging(std::string(program.name) + "[" + args->peer + "]",
                         cfg.paths.log_dir / (std::string(program.name) + ".log"),
                         args->foreground);
            return program.run_child(cfg, *args);
        }
        if (!args->role.empty()) {
            std::fprintf(stderr, "%s: unknown role %s\n", program.name, args->role.c_str());
            return 2;
        }
        for (const auto& dir : {cfg.paths.run_dir, cfg.paths.log_dir, cfg.paths.state_dir}) {
            std::filesystem::create_directories(dir);
        }
        init_logging(program.name, cfg.paths.log_dir / (std::string(program.name) + ".log"),
                     args->foreground);
        raise_descriptor_limit();
        warn_unresolved(cfg);
        if (!have_exe) {
            spdlog::warn("cannot open /proc/self/exe ({}): children will be started by path, "
                         "which fails once the binary is replaced",
                         std::strerror(exe_errno));
        }
        // Certificates present but unusable (key mode, key not matching, wrong host) stop the
        // start: silently running insecure instead would be a downgrade nobody asked for.
        auto tls = load_tls_credentials(cfg);
        if (!tls.error.empty()) {
            throw std::runtime_error(tls.error);
        }
        bool insecure_allowed = std::string_view(program.name) == "lond"
                                    ? cfg.lond.allow_insecure
                                    : cfg.lonc.allow_insecure;
        if (!tls.credentials && tls.expired && !insecure_allowed) {
            throw std::runtime_error(tls.absent_reason + ", and " + program.name +
                                     ".allow_insecure is false: " + program.name +
                                     " could not link with any peer. Install a new certificate "
                                     "(request_ssl_key.sh, then the CA's response script)");
        }
        if (tls.credentials) {
            spdlog::info("certificate for {} valid for {} more day(s)", tls.credentials->subject,
                         tls.credentials->days_left(std::time(nullptr)));
        } else {
            spdlog::info("no usable certificate ({}): links will be insecure where allowed",
                         tls.absent_reason);
        }
        return program.run_parent(cfg, *args);
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        flush_logs();
        std::fprintf(stderr, "%s: %s\n", program.name, e.what());
        return 3;
    }
}

} // namespace lon::link
