#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lon {

/// One server of the cluster, as listed in hosts.yaml.
struct Host {
    std::string id;           ///< lonHostID: [A-Za-z0-9_-]{1,64}
    std::string address;      ///< IP literal or DNS name, as written
    std::uint16_t port = 5663;
    std::string domain;
    std::string role;
    std::vector<std::string> resolved; ///< numeric IP addresses `address` resolved to at load
};

class HostTable {
public:
    HostTable() = default;
    explicit HostTable(std::vector<Host> hosts) : hosts_(std::move(hosts)) {}

    [[nodiscard]] const Host* find(std::string_view id) const;
    /// Whether `ip` (numeric, as from a socket) is one of `host`'s resolved addresses.
    [[nodiscard]] static bool has_address(const Host& host, std::string_view ip);
    [[nodiscard]] const std::vector<Host>& hosts() const { return hosts_; }

private:
    std::vector<Host> hosts_;
};

/// Whether `id` is a valid lonHostID (also used as a file name, so strictly limited).
[[nodiscard]] bool valid_host_id(std::string_view id);

/// Loads the hosts table; resolves each address (getaddrinfo, once). Throws ConfigError with
/// file, line and key for duplicates, bad ids, bad ports, unknown keys, unresolvable names.
[[nodiscard]] HostTable load_host_table(const std::filesystem::path& file);

} // namespace lon
