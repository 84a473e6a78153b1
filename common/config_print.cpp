#include "config_print.hpp"

#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lon {
namespace {

std::string duration(Millis d) {
    return d.count() % 1000 == 0 ? fmt::format("{}s", d.count() / 1000)
                                 : fmt::format("{}ms", d.count());
}

std::string size(std::uint64_t bytes) {
    for (auto [unit, factor] : {std::pair{"GiB", 1ULL << 30}, {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10}}) {
        if (bytes != 0 && bytes % factor == 0) {
            return fmt::format("{}{}", bytes / factor, unit);
        }
    }
    return fmt::format("{}B", bytes);
}

std::string boolean(bool b) {
    return b ? "true" : "false";
}

std::string path(const std::optional<std::filesystem::path>& p) {
    return p ? p->string() : std::string();
}

using Getter = std::function<std::string(const Config&)>;

/// One row per key, in the order of the documented config file.
const std::vector<std::pair<std::string, Getter>>& table() {
    static const std::vector<std::pair<std::string, Getter>> rows{
        {"host_id", [](const Config& c) { return c.host_id; }},
        {"hosts_file", [](const Config& c) { return c.hosts_file.string(); }},
        {"hosts",
         [](const Config& c) {
             std::string ids;
             for (const Host& h : c.hosts.hosts()) {
                 ids += (ids.empty() ? "" : " ") + h.id;
             }
             return ids;
         }},
        {"listen.address", [](const Config& c) { return c.listen_address; }},
        {"listen.port", [](const Config& c) { return std::to_string(c.listen_port); }},
        {"paths.cert_dir", [](const Config& c) { return c.paths.cert_dir.string(); }},
        {"paths.socket_dir", [](const Config& c) { return c.paths.socket_dir.string(); }},
        {"paths.run_dir", [](const Config& c) { return c.paths.run_dir.string(); }},
        {"paths.log_dir", [](const Config& c) { return c.paths.log_dir.string(); }},
        {"paths.spool_dir", [](const Config& c) { return c.paths.spool_dir.string(); }},
        {"paths.state_dir", [](const Config& c) { return c.paths.state_dir.string(); }},
        {"socket_group", [](const Config& c) { return c.socket_group.value_or(""); }},
        {"metrics_dir", [](const Config& c) { return path(c.metrics_dir); }},
        {"user", [](const Config& c) { return c.user.value_or(""); }},
        {"log.target", [](const Config& c) { return std::string(log_target_name(c.log.target)); }},
        {"log.level", [](const Config& c) { return c.log.level; }},
        {"tls.key_passphrase_file", [](const Config& c) { return path(c.tls.key_passphrase_file); }},
        {"tls.expiry_warning_days",
         [](const Config& c) { return std::to_string(c.tls.expiry_warning_days); }},
        {"lonc.allow_insecure", [](const Config& c) { return boolean(c.lonc.allow_insecure); }},
        {"lonc.max_connections", [](const Config& c) { return std::to_string(c.lonc.max_connections); }},
        {"lonc.retries", [](const Config& c) { return std::to_string(c.lonc.retries); }},
        {"lonc.stable_after", [](const Config& c) { return duration(c.lonc.stable_after); }},
        {"lonc.backoff_initial", [](const Config& c) { return duration(c.lonc.backoff_initial); }},
        {"lonc.backoff_max", [](const Config& c) { return duration(c.lonc.backoff_max); }},
        {"lonc.idle_timeout", [](const Config& c) { return duration(c.lonc.idle_timeout); }},
        {"lonc.request_timeout", [](const Config& c) { return duration(c.lonc.request_timeout); }},
        {"lonc.keepalive", [](const Config& c) { return duration(c.lonc.keepalive); }},
        {"lonc.max_queued", [](const Config& c) { return std::to_string(c.lonc.max_queued); }},
        {"lonc.max_outstanding_per_client",
         [](const Config& c) { return std::to_string(c.lonc.max_outstanding_per_client); }},
        {"lonc.client_idle_timeout",
         [](const Config& c) { return duration(c.lonc.client_idle_timeout); }},
        {"lonc.max_spooled", [](const Config& c) { return std::to_string(c.lonc.max_spooled); }},
        {"lond.allow_insecure", [](const Config& c) { return boolean(c.lond.allow_insecure); }},
        {"lond.handler", [](const Config& c) { return path(c.lond.handler); }},
        {"lond.insecure_commands",
         [](const Config& c) { return fmt::format("[{}]", fmt::join(c.lond.insecure_commands, ", ")); }},
        {"lond.load_limit", [](const Config& c) { return fmt::format("{}", c.lond.load_limit); }},
        {"lond.idle_timeout", [](const Config& c) { return duration(c.lond.idle_timeout); }},
        {"lond.max_handler_requests",
         [](const Config& c) { return std::to_string(c.lond.max_handler_requests); }},
        {"lond.max_handler_queue",
         [](const Config& c) { return std::to_string(c.lond.max_handler_queue); }},
        {"lond.critical_retention",
         [](const Config& c) { return duration(c.lond.critical_retention); }},
        {"limits.max_message_bytes", [](const Config& c) { return size(c.limits.max_message_bytes); }},
        {"limits.handshake_timeout",
         [](const Config& c) { return duration(c.limits.handshake_timeout); }},
        {"limits.max_pending_inits",
         [](const Config& c) { return std::to_string(c.limits.max_pending_inits); }},
        {"limits.max_pending_inits_per_address",
         [](const Config& c) { return std::to_string(c.limits.max_pending_inits_per_address); }},
        {"limits.large_message_heap",
         [](const Config& c) { return size(c.limits.large_message_heap); }},
    };
    return rows;
}

} // namespace

std::optional<std::string> config_value(const Config& config, std::string_view key) {
    for (const auto& [name, get] : table()) {
        if (name == key) {
            return get(config);
        }
    }
    // hosts.<id>.address / hosts.<id>.port: one host's entry of the hosts table.
    constexpr std::string_view prefix = "hosts.";
    if (key.substr(0, prefix.size()) == prefix) {
        std::string_view rest = key.substr(prefix.size());
        auto dot = rest.rfind('.');
        if (dot != std::string_view::npos) {
            const Host* h = config.hosts.find(std::string(rest.substr(0, dot)));
            std::string_view field = rest.substr(dot + 1);
            if (h != nullptr && field == "address") {
                return h->address;
            }
            if (h != nullptr && field == "port") {
                return std::to_string(h->port);
            }
        }
    }
    return std::nullopt;
}

std::vector<std::string> config_keys() {
    std::vector<std::string> keys;
    for (const auto& row : table()) {
        keys.push_back(row.first);
    }
    keys.emplace_back("hosts.<id>.address");
    keys.emplace_back("hosts.<id>.port");
    return keys;
}

} // namespace lon
