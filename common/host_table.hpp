#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lon {

/// One server of the cluster, as listed in hosts.yaml or a LON-CAPA hosts.tab.
struct Host {
    std::string id;           ///< lonHostID: [A-Za-z0-9_-]{1,64}
    std::string address;      ///< IP literal or DNS name, as written
    std::uint16_t port = 5663;
    std::string domain;
    std::string role;
    std::vector<std::string> resolved; ///< numeric IP addresses `address` resolved to at load
    /// Set when `address` did not resolve at load ("<file>:<line>: hosts[i].address: cannot
    /// resolve <name>"); `resolved` is then empty until a daemon resolves it again.
    std::string resolve_error;
};

class HostTable {
public:
    HostTable() = default;
    explicit HostTable(std::vector<Host> hosts) : hosts_(std::move(hosts)) {}

    [[nodiscard]] const Host* find(std::string_view id) const;
    /// Whether `ip` (numeric, as from a socket) is one of `host`'s resolved addresses.
    [[nodiscard]] static bool has_address(const Host& host, std::string_view ip);
    [[nodiscard]] const std::vector<Host>& hosts() const { return hosts_; }
    /// Records addresses found for `id` by a later resolution (a DNS outage at load ended).
    void set_resolved(std::string_view id, std::vector<std::string> addresses);

private:
    std::vector<Host> hosts_;
};

/// Whether `id` is a valid lonHostID (also used as a file name, so strictly limited).
[[nodiscard]] bool valid_host_id(std::string_view id);

/// Numeric addresses of `name` (getaddrinfo; an IP literal resolves to itself); empty if it
/// does not resolve (now).
[[nodiscard]] std::vector<std::string> resolve_address(const std::string& name);

/// Whether `file` is a LON-CAPA hosts.tab (its name ends in ".tab", see hosts_tab.hpp) rather
/// than hosts.yaml.
[[nodiscard]] bool is_hosts_tab(const std::filesystem::path& file);

/// Loads the hosts table, hosts.yaml or (by the ".tab" suffix) a LON-CAPA hosts.tab; resolves
/// each address (getaddrinfo, once). Throws ConfigError with file, line and key for
/// duplicates, bad ids, bad ports, unknown keys, malformed lines. A name that does not
/// resolve is not an error here (a DNS outage must not stop a start or a reload): that host
/// gets an empty `resolved` and its `resolve_error` (load_config requires this host's own
/// entry to resolve).
[[nodiscard]] HostTable load_host_table(const std::filesystem::path& file);
/// The same from `text`, the contents of `file` read earlier (`file` is not read).
[[nodiscard]] HostTable load_host_table(const std::filesystem::path& file, const std::string& text);

/// hosts.yaml `text` read through yaml-cpp's node tree, whose checks word every error.
/// load_host_table reads a table of the plain shape from the parser's events instead
/// (host_table_events.hpp), which gives the same hosts without the tree's allocations; this
/// is what it falls back to, and what tests and the fuzz target compare it with.
[[nodiscard]] HostTable load_host_table_nodes(const std::filesystem::path& file,
                                              const std::string& text);

/// A hosts table text in `file`'s format (YAML, or hosts.tab by the suffix) holding only
/// `hosts`, which load_host_table reads back to the same ids, addresses, ports, domains and
/// roles. A parent hands each child a table of just the two hosts that child needs (its own
/// and its peer), so that a link's cost does not grow with the table (issue 9 §7).
[[nodiscard]] std::string render_host_table(const std::filesystem::path& file,
                                            const std::vector<const Host*>& hosts);

} // namespace lon
