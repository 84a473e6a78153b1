#include "daemon_main.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <malloc.h>

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config_print.hpp"
#include "heap.hpp"
#include "json.hpp"
#include "log.hpp"
#include "net.hpp"
#include "privileges.hpp"
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

/// What stops a start once config and hosts are valid: certificates present but unusable
/// (key mode, key not matching, wrong host), or expired where this daemon may not link
/// insecure. Empty when a start may go on. Reads cert_dir (startup, --check).
std::string credentials_problem(ValidatedSet& set, const char* name) {
    // Silently running insecure instead of with the certificates given would be a downgrade
    // nobody asked for.
    if (auto problem = read_credentials(set); !problem.empty()) {
        return problem;
    }
    // An expired certificate where this daemon may not link insecure: it could link with
    // no peer at all, so say so plainly instead of running uselessly.
    const Config& cfg = set.config;
    bool insecure_allowed = std::string_view(name) == "lond" ? cfg.lond.allow_insecure
                                                             : cfg.lonc.allow_insecure;
    if (const auto& c = set.tls.credentials;
        c && std::time(nullptr) >= c->not_after && !insecure_allowed) {
        std::tm tm{};
        gmtime_r(&c->not_after, &tm);
        char when[32];
        std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
        return (cfg.paths.cert_dir / "lonhostcert.pem").string() + " expired on " + when +
               ", and " + name + ".allow_insecure is false: " + name +
               " could not link with any peer. Install a new certificate "
               "(request_ssl_key.sh, then the CA's response script)";
    }
    return {};
}

/// --print KEY...: each value on a line of its own; an unknown key is a usage error.
int print_values(const Config& cfg, const DaemonArgs& args, const char* name) {
    std::string out;
    for (const std::string& key : args.print) {
        auto value = config_value(cfg, key);
        if (!value) {
            std::string keys;
            for (const std::string& k : config_keys()) {
                keys += (keys.empty() ? "" : ", ") + k;
            }
            std::fprintf(stderr, "%s: --print: no config key '%s' (keys: %s)\n", name,
                         key.c_str(), keys.c_str());
            return 2;
        }
        out += *value + "\n";
    }
    std::fputs(out.c_str(), stdout);
    return 0;
}

} // namespace

std::string privilege_status_json(const Config& config) {
    std::string out = ",\"user\":" + json_string(current_user_name());
    if (::geteuid() == 0 && !config.user) {
        out += ",\"warning\":" + json_string(root_warning);
    }
    return out;
}

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
    // Large messages (lines up to limits.max_message_bytes) are allocated and freed per
    // request. Keep up to 4 MiB of freed memory in the heap for the next one, and take
    // buffers up to 32 MiB from the heap, instead of handing them back to the kernel and
    // faulting them in again, zeroed, for every message (a profile of 64 KiB lines showed
    // several page faults per request). Parents still give back what a reload freed
    // (malloc_trim in validated_set.cpp).
    ::mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    ::mallopt(M_TRIM_THRESHOLD, static_cast<int>(heap_kept_quiet)); // children: HeapKeeper
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
    if (!args->hosts_file.empty()) {
        // A hosts table alone (the CA host has no lonlink config): only its ids.
        if (args->print.size() != 1 || args->print[0] != "hosts") {
            std::fprintf(stderr, "%s: --hosts-file goes with --print hosts only\n%s",
                         program.name, program.usage);
            return 2;
        }
        try {
            HostTable table = load_host_table(args->hosts_file);
            std::string ids;
            for (const Host& h : table.hosts()) {
                ids += (ids.empty() ? "" : " ") + h.id;
            }
            std::printf("%s\n", ids.c_str());
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", program.name, e.what());
            return 2;
        }
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
            use_one_malloc_arena(); // before any thread: a child is one io_context thread
            prefault_heap(child_heap_prefault); // what its start-up grows the heap by anyway
            UniqueFd bundle_fd(args->bundle);
            set = load_bundle(read_bundle(bundle_fd.get()), program.child_tls);
        } else {
            set = read_config_set(args->config);
        }
    } catch (const ConfigError& e) {
        // The config file itself could not be read: say how to name another one.
        std::string unread =
            std::filesystem::absolute(args->config).lexically_normal().string() + ": cannot read";
        bool missing = args->role.empty() && std::string_view(e.what()).rfind(unread, 0) == 0;
        std::fprintf(stderr, "%s: %s%s\n", program.name, e.what(), missing ? config_hint : "");
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program.name, e.what());
        return 3;
    }
    const Config& cfg = set.config;
    if (!args->print.empty()) {
        return print_values(cfg, *args, program.name);
    }
    if (args->check) {
        // What a start checks before it binds anything: config, hosts table, certificates.
        std::string problem;
        try {
            problem = credentials_problem(set, program.name);
        } catch (const std::exception& e) {
            problem = e.what();
        }
        if (!problem.empty()) {
            std::fprintf(stderr, "%s: %s\n", program.name, problem.c_str());
            return 3;
        }
        std::printf("%s: %s: configuration, hosts table and certificates are good\n",
                    program.name, cfg.file.c_str());
        if (::geteuid() == 0 && !cfg.user) {
            std::printf("%s: warning: %s\n", program.name, root_warning);
        }
        return 0;
    }
    try {
        if (args->role == "peer") {
            init_logging(std::string(program.name) + "[" + args->peer + "]",
                         cfg.paths.log_dir / (std::string(program.name) + ".log"),
                         args->foreground, cfg.log, program.name);
            // No trim here: it would give back the heap just populated, which OpenSSL's
            // context and the handshake are about to use (it gave back 12 KiB before); the
            // trim once the first link is up returns what start-up freed (heap.hpp).
            return program.run_child(set, *args);
        }
        if (!args->role.empty()) {
            std::fprintf(stderr, "%s: unknown role %s\n", program.name, args->role.c_str());
            return 2;
        }
        // Setup order (privileges.hpp): what needs root first, then the drop, then the rest
        // as the user, so that every file it makes afterwards is the user's.
        UserIds user;
        PrivilegeStep step = plan_privileges(cfg, program.name, user);
        if (step == PrivilegeStep::drop) {
            prepare_for_user(cfg, user);
        } else {
            for (const auto& dir : {cfg.paths.run_dir, cfg.paths.log_dir, cfg.paths.state_dir}) {
                std::filesystem::create_directories(dir);
            }
        }
        std::string problem = credentials_problem(set, program.name); // reads the key as root
        UniqueFd early;
        if (step == PrivilegeStep::drop) {
            if (program.bind_before_drop) {
                early = program.bind_before_drop(cfg);
            }
            drop_to(user);
        }
        init_logging(program.name, cfg.paths.log_dir / (std::string(program.name) + ".log"),
                     args->foreground, cfg.log, program.name);
        if (step == PrivilegeStep::drop) {
            spdlog::info("running as user {} (uid {}, gid {}) and its groups", user.name,
                         user.uid, user.gid);
            if (auto unreadable = unreadable_for_reload(cfg); !unreadable.empty()) {
                throw std::runtime_error(
                    "after dropping to user " + user.name + ", " + unreadable +
                    ": a reload (HUP) would fail; make it readable by " + user.name +
                    " (see docs/privileges-and-logs.md)");
            }
        } else if (step == PrivilegeStep::root_without_user) {
            spdlog::warn("{}", root_warning);
        }
        raise_descriptor_limit();
        warn_unresolved(cfg);
        if (!have_exe) {
            spdlog::warn("cannot open /proc/self/exe ({}): children will be started by path, "
                         "which fails once the binary is replaced",
                         std::strerror(exe_errno));
        }
        if (!problem.empty()) {
            throw std::runtime_error(problem);
        }
        log_credentials(set.tls);
        return program.run_parent(set, *args, std::move(early));
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        flush_logs();
        std::fprintf(stderr, "%s: %s\n", program.name, e.what());
        return 3;
    }
}

} // namespace lon::link
