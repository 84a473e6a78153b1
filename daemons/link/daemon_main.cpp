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
#include "unique_fd.hpp"

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

void log_credentials(const TlsLoad& tls) {
    std::time_t now = std::time(nullptr);
    if (!tls.credentials) {
        spdlog::info("no usable certificate ({}): links will be insecure where allowed",
                     tls.absent_reason);
    } else if (!tls.credentials->usable_at(now)) {
        spdlog::warn("no usable certificate now ({}): links will be insecure where allowed; "
                     "it is used again as soon as the clock says it is valid",
                     tls.credentials->unusable_reason(now));
    } else {
        spdlog::info("certificate for {} valid for {} more day(s)", tls.credentials->subject,
                     tls.credentials->days_left(now));
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
    ValidatedSet set;
    try {
        if (args->role == "peer") {
            // A child parses what its parent validated and never the disk (validated_set.hpp).
            if (args->peer.empty() || args->fd < 0 || args->bundle < 0) {
                std::fprintf(stderr, "%s: --role peer needs --peer, --fd and --bundle\n",
                             program.name);
                return 2;
            }
            UniqueFd bundle_fd(args->bundle);
            set = load_bundle(read_bundle(bundle_fd.get()));
        } else {
            set = read_config_set(args->config);
        }
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "%s: %s\n", program.name, e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program.name, e.what());
        return 3;
    }
    const Config& cfg = set.config;
    try {
        if (args->role == "peer") {
            init_logging(std::string(program.name) + "[" + args->peer + "]",
                         cfg.paths.log_dir / (std::string(program.name) + ".log"),
                         args->foreground);
            return program.run_child(set, *args);
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
        if (auto problem = read_credentials(set); !problem.empty()) {
            throw std::runtime_error(problem);
        }
        // An expired certificate where this daemon may not link insecure: it could link with
        // no peer at all, so say so plainly instead of running uselessly.
        bool insecure_allowed = std::string_view(program.name) == "lond"
                                    ? cfg.lond.allow_insecure
                                    : cfg.lonc.allow_insecure;
        if (const auto& c = set.tls.credentials;
            c && std::time(nullptr) >= c->not_after && !insecure_allowed) {
            std::tm tm{};
            gmtime_r(&c->not_after, &tm);
            char when[32];
            std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
            throw std::runtime_error((cfg.paths.cert_dir / "lonhostcert.pem").string() +
                                     " expired on " + when + ", and " + program.name +
                                     ".allow_insecure is false: " + program.name +
                                     " could not link with any peer. Install a new certificate "
                                     "(request_ssl_key.sh, then the CA's response script)");
        }
        log_credentials(set.tls);
        return program.run_parent(set, *args);
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        flush_logs();
        std::fprintf(stderr, "%s: %s\n", program.name, e.what());
        return 3;
    }
}

} // namespace lon::link
