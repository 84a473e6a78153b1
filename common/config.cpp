#include "config.hpp"

#include <functional>

#include <pwd.h>
#include <sys/un.h>

#include "yaml_reader.hpp"

namespace lon {
namespace {

using YAML::Node;

void read_listen(const YamlReader& r, const Node& n, Config& c) {
    r.check_map(n, "listen", {"address", "port"});
    if (n["address"]) {
        c.listen_address = r.get_string(n["address"], "listen.address");
    }
    if (n["port"]) {
        c.listen_port = static_cast<std::uint16_t>(r.get_int(n["port"], "listen.port", 1, 65535));
    }
}

void read_paths(const YamlReader& r, const Node& n, Config& c) {
    r.check_map(n, "paths",
                {"cert_dir", "socket_dir", "run_dir", "log_dir", "spool_dir", "state_dir"});
    auto dir = [&](const char* key, std::filesystem::path& out) {
        if (n[key]) {
            out = r.get_path(n[key], join_key("paths", key));
        }
    };
    dir("cert_dir", c.paths.cert_dir);
    dir("socket_dir", c.paths.socket_dir);
    dir("run_dir", c.paths.run_dir);
    dir("log_dir", c.paths.log_dir);
    dir("spool_dir", c.paths.spool_dir);
    dir("state_dir", c.paths.state_dir);
}

void read_tls(const YamlReader& r, const Node& n, Config& c) {
    r.check_map(n, "tls", {"key_passphrase_file", "expiry_warning_days"});
    if (n["key_passphrase_file"]) {
        auto p = r.get_optional_string(n["key_passphrase_file"], "tls.key_passphrase_file");
        if (p) {
            c.tls.key_passphrase_file = r.resolve(*p);
        }
    }
    if (n["expiry_warning_days"]) {
        c.tls.expiry_warning_days =
            static_cast<int>(r.get_int(n["expiry_warning_days"], "tls.expiry_warning_days", 0, 3650));
    }
}

void read_lonc(const YamlReader& r, const Node& n, Config& c) {
    r.check_map(n, "lonc",
                {"allow_insecure", "max_connections", "retries", "stable_after", "backoff_initial",
                 "backoff_max", "idle_timeout", "request_timeout", "keepalive", "max_queued",
                 "max_outstanding_per_client", "client_idle_timeout", "max_spooled"});
    auto& l = c.lonc;
    if (n["allow_insecure"]) {
        l.allow_insecure = r.get_bool(n["allow_insecure"], "lonc.allow_insecure");
    }
    if (n["max_connections"]) {
        l.max_connections =
            static_cast<int>(r.get_int(n["max_connections"], "lonc.max_connections", 1, 64));
    }
    if (n["retries"]) {
        l.retries = static_cast<int>(r.get_int(n["retries"], "lonc.retries", 1, 1000));
    }
    auto positive = [&](const char* key, Millis& out) {
        if (n[key]) {
            out = r.get_duration(n[key], join_key("lonc", key));
            if (out.count() <= 0) {
                r.fail(n[key], join_key("lonc", key), "must be more than zero");
            }
        }
    };
    positive("stable_after", l.stable_after);
    positive("backoff_initial", l.backoff_initial);
    positive("backoff_max", l.backoff_max);
    positive("idle_timeout", l.idle_timeout);
    positive("request_timeout", l.request_timeout);
    positive("keepalive", l.keepalive);
    positive("client_idle_timeout", l.client_idle_timeout);
    if (n["max_spooled"]) {
        l.max_spooled = static_cast<std::size_t>(
            r.get_int(n["max_spooled"], "lonc.max_spooled", 1, 10'000'000));
    }
    if (n["max_queued"]) {
        l.max_queued = static_cast<std::size_t>(
            r.get_int(n["max_queued"], "lonc.max_queued", 1, 10'000'000));
    }
    if (n["max_outstanding_per_client"]) {
        l.max_outstanding_per_client = static_cast<std::size_t>(r.get_int(
            n["max_outstanding_per_client"], "lonc.max_outstanding_per_client", 1, 10'000'000));
    }
    if (l.backoff_max < l.backoff_initial) {
        r.fail(n["backoff_max"] ? n["backoff_max"] : n, "lonc.backoff_max",
               "must not be less than lonc.backoff_initial");
    }
}

void read_lond(const YamlReader& r, const Node& n, Config& c) {
    r.check_map(n, "lond",
                {"allow_insecure", "handler", "insecure_commands", "load_limit", "idle_timeout",
                 "max_handler_requests", "max_handler_queue", "handler_connections",
                 "critical_retention"});
    auto& l = c.lond;
    if (n["allow_insecure"]) {
        l.allow_insecure = r.get_bool(n["allow_insecure"], "lond.allow_insecure");
    }
    if (n["handler"]) {
        if (auto h = r.get_optional_string(n["handler"], "lond.handler")) {
            l.handler = r.resolve(*h);
            // It is connected to for every handler request: a path that cannot be a unix
            // socket address (sun_path: 108 bytes with its NUL) would fail every one of them.
            constexpr std::size_t sun_path_max = sizeof(sockaddr_un::sun_path) - 1;
            if (l.handler->native().size() > sun_path_max) {
                r.fail(n["handler"], "lond.handler",
                       "path too long for a unix socket (" +
                           std::to_string(l.handler->native().size()) + " bytes, at most " +
                           std::to_string(sun_path_max) + ")");
            }
        }
    }
    if (const Node& list = n["insecure_commands"]) {
        if (!list.IsSequence()) {
            r.fail(list, "lond.insecure_commands", "expected a list of command names");
        }
        l.insecure_commands.clear();
        for (std::size_t i = 0; i < list.size(); ++i) {
            l.insecure_commands.push_back(
                r.get_string(list[i], "lond.insecure_commands[" + std::to_string(i) + "]"));
        }
    }
    if (n["load_limit"]) {
        l.load_limit = r.get_double(n["load_limit"], "lond.load_limit");
        if (!(l.load_limit > 0)) {
            r.fail(n["load_limit"], "lond.load_limit", "must be more than zero");
        }
    }
    if (n["idle_timeout"]) {
        l.idle_timeout = r.get_duration(n["idle_timeout"], "lond.idle_timeout");
        if (l.idle_timeout.count() <= 0) {
            r.fail(n["idle_timeout"], "lond.idle_timeout", "must be more than zero");
        }
    } else {
        l.idle_timeout = 4 * c.lonc.keepalive;
    }
    if (n["max_handler_requests"]) {
        l.max_handler_requests = static_cast<std::size_t>(
            r.get_int(n["max_handler_requests"], "lond.max_handler_requests", 1, 100'000));
    }
    if (n["critical_retention"]) {
        l.critical_retention = r.get_duration(n["critical_retention"], "lond.critical_retention");
        if (l.critical_retention.count() <= 0) {
            r.fail(n["critical_retention"], "lond.critical_retention", "must be more than zero");
        }
    }
    if (n["max_handler_queue"]) {
        l.max_handler_queue = static_cast<std::size_t>(
            r.get_int(n["max_handler_queue"], "lond.max_handler_queue", 0, 10'000'000));
    }
    if (n["handler_connections"]) {
        l.handler_connections = static_cast<std::size_t>(
            r.get_int(n["handler_connections"], "lond.handler_connections", 1, 256));
    }
}

void read_log(const YamlReader& r, const Node& n, Config& c) {
    r.check_map(n, "log", {"target", "level"});
    if (n["target"]) {
        std::string t = r.get_string(n["target"], "log.target");
        if (t == "file") {
            c.log.target = LogTarget::file;
        } else if (t == "syslog") {
            c.log.target = LogTarget::syslog;
        } else if (t == "stderr") {
            c.log.target = LogTarget::stderr_stream;
        } else {
            r.fail(n["target"], "log.target", "'" + t + "' is not one of file, syslog, stderr");
        }
    }
    if (n["level"]) {
        c.log.level = r.get_string(n["level"], "log.level");
        if (!valid_log_level(c.log.level)) {
            r.fail(n["level"], "log.level",
                   "'" + c.log.level +
                       "' is not one of trace, debug, info, warning, error, critical, off");
        }
    }
}

void read_limits(const YamlReader& r, const Node& n, Config& c) {
    r.check_map(n, "limits",
                {"max_message_bytes", "handshake_timeout", "max_pending_inits",
                 "max_pending_inits_per_address", "large_message_heap"});
    if (n["max_message_bytes"]) {
        c.limits.max_message_bytes = r.get_size(n["max_message_bytes"], "limits.max_message_bytes");
        if (c.limits.max_message_bytes < 1024 || c.limits.max_message_bytes > (1ULL << 30)) {
            r.fail(n["max_message_bytes"], "limits.max_message_bytes",
                   "must be between 1KiB and 1GiB");
        }
    }
    if (n["handshake_timeout"]) {
        c.limits.handshake_timeout = r.get_duration(n["handshake_timeout"], "limits.handshake_timeout");
        if (c.limits.handshake_timeout.count() <= 0) {
            r.fail(n["handshake_timeout"], "limits.handshake_timeout", "must be more than zero");
        }
    }
    if (n["max_pending_inits"]) {
        c.limits.max_pending_inits = static_cast<std::size_t>(
            r.get_int(n["max_pending_inits"], "limits.max_pending_inits", 1, 1'000'000));
    }
    if (n["max_pending_inits_per_address"]) {
        c.limits.max_pending_inits_per_address = static_cast<std::size_t>(r.get_int(
            n["max_pending_inits_per_address"], "limits.max_pending_inits_per_address", 1,
            1'000'000));
    }
    if (n["large_message_heap"]) {
        c.limits.large_message_heap =
            r.get_size(n["large_message_heap"], "limits.large_message_heap");
        if (c.limits.large_message_heap > (1ULL << 30)) {
            r.fail(n["large_message_heap"], "limits.large_message_heap", "must be at most 1GiB");
        }
    }
}

} // namespace

const Host& Config::self() const {
    const Host* h = hosts.find(host_id);
    if (h == nullptr) {
        throw ConfigError(file.string() + ": host_id " + host_id + " is not in the hosts table");
    }
    return *h;
}

namespace {

/// `hosts_text` gives the hosts table's bytes for its path (read from disk, or kept).
Config parse_config(const std::filesystem::path& file, const std::string& text,
                    const std::function<std::string(const std::filesystem::path&)>& hosts_text) {
    YamlReader r(file, text);
    const Node& root = r.root();
    r.check_map(root, "",
                {"host_id", "hosts_file", "listen", "paths", "socket_group", "user", "log", "tls",
                 "lonc", "lond", "limits", "metrics_dir"});
    Config c;
    c.file = r.file();
    if (!root["host_id"]) {
        r.fail(root, "host_id", "missing (this host's lonHostID)");
    }
    c.host_id = r.get_string(root["host_id"], "host_id");
    if (!valid_host_id(c.host_id)) {
        r.fail(root["host_id"], "host_id", "not a valid host id (letters, digits, _ and -)");
    }
    if (!root["hosts_file"]) {
        r.fail(root, "hosts_file", "missing (path of the hosts table)");
    }
    c.hosts_file = r.get_path(root["hosts_file"], "hosts_file");
    c.paths = {r.resolve("certs"), r.resolve("sockets"), r.resolve("run"),
               r.resolve("log"),   r.resolve("spool"),   r.resolve("state")};
    // A section left empty ("lonc:" with every line below commented out) means defaults.
    auto section = [&](const char* key) { return root[key] && !root[key].IsNull(); };
    if (section("listen")) {
        read_listen(r, root["listen"], c);
    }
    if (section("paths")) {
        read_paths(r, root["paths"], c);
    }
    if (root["socket_group"]) {
        c.socket_group = r.get_optional_string(root["socket_group"], "socket_group");
    }
    if (root["metrics_dir"]) {
        if (auto m = r.get_optional_string(root["metrics_dir"], "metrics_dir")) {
            c.metrics_dir = r.resolve(*m);
        }
    }
    if (root["user"] && !root["user"].IsNull()) {
        c.user = r.get_string(root["user"], "user");
        // Checked here, with the file and line, rather than when the daemon drops to it.
        if (::getpwnam(c.user->c_str()) == nullptr) {
            r.fail(root["user"], "user",
                   "no user named " + *c.user + " on this system (create it, e.g. useradd "
                   "--system --no-create-home " + *c.user + ", or name another)");
        }
    }
    if (section("log")) {
        read_log(r, root["log"], c);
    }
    if (section("tls")) {
        read_tls(r, root["tls"], c);
    }
    if (section("lonc")) {
        read_lonc(r, root["lonc"], c);
    }
    if (section("lond")) {
        read_lond(r, root["lond"], c); // after lonc: lond.idle_timeout defaults from keepalive
    } else {
        c.lond.idle_timeout = 4 * c.lonc.keepalive;
    }
    if (section("limits")) {
        read_limits(r, root["limits"], c);
    }
    c.hosts = load_host_table(c.hosts_file, hosts_text(c.hosts_file));
    if (c.hosts.find(c.host_id) == nullptr) {
        r.fail(root["host_id"], "host_id",
               c.host_id + " is not in the hosts table " + c.hosts_file.string());
    }
    // Our own address is needed to bind (lond listens on it, lonc connects from it); a peer's
    // may stay unresolved (a DNS outage must not stop a start or a reload): the daemons
    // resolve it again when they need it.
    if (const Host& self = c.self(); !self.resolve_error.empty()) {
        throw ConfigError(self.resolve_error);
    }
    return c;
}

} // namespace

Config load_config(const std::filesystem::path& file, ConfigSources* sources) {
    auto path = std::filesystem::absolute(file).lexically_normal();
    std::string text = read_config_text(path);
    std::string hosts;
    Config c = parse_config(path, text, [&](const std::filesystem::path& hosts_file) {
        hosts = read_config_text(hosts_file);
        return hosts;
    });
    if (sources != nullptr) {
        sources->config_text = std::move(text);
        sources->hosts_text = std::move(hosts);
    }
    return c;
}

Config load_config_from(const std::filesystem::path& file, const ConfigSources& sources) {
    return parse_config(file, sources.config_text,
                        [&](const std::filesystem::path&) { return sources.hosts_text; });
}

} // namespace lon
