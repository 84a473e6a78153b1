#include "host_table.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <yaml-cpp/yaml.h>

#include "config.hpp"
#include "host_table_events.hpp"
#include "hosts_tab.hpp"
#include "yaml_reader.hpp"

namespace lon {

std::vector<std::string> resolve_address(const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::vector<std::string> out;
    if (::getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0) {
        return out;
    }
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        char host[NI_MAXHOST];
        if (::getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, nullptr, 0,
                          NI_NUMERICHOST) == 0) {
            std::string s(host);
            bool seen = false;
            for (const auto& o : out) {
                seen = seen || o == s;
            }
            if (!seen) {
                out.push_back(s);
            }
        }
    }
    ::freeaddrinfo(res);
    return out;
}

bool valid_host_id(std::string_view id) {
    if (id.empty() || id.size() > 64) {
        return false;
    }
    for (char ch : id) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '_' || ch == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

const Host* HostTable::find(std::string_view id) const {
    for (const auto& h : hosts_) {
        if (h.id == id) {
            return &h;
        }
    }
    return nullptr;
}

void HostTable::set_resolved(std::string_view id, std::vector<std::string> addresses) {
    for (auto& h : hosts_) {
        if (h.id == id) {
            h.resolved = std::move(addresses);
            if (!h.resolved.empty()) {
                h.resolve_error.clear();
            }
        }
    }
}

bool HostTable::has_address(const Host& host, std::string_view ip) {
    constexpr std::string_view mapped = "::ffff:";
    if (ip.substr(0, mapped.size()) == mapped && ip.find('.') != std::string_view::npos) {
        ip.remove_prefix(mapped.size());
    }
    for (const auto& a : host.resolved) {
        if (a == ip) {
            return true;
        }
    }
    return false;
}

HostTable load_host_table(const std::filesystem::path& file) {
    return load_host_table(file, read_config_text(std::filesystem::absolute(file).lexically_normal()));
}

bool is_hosts_tab(const std::filesystem::path& file) {
    return file.extension() == ".tab";
}

namespace {

/// Resolves `h.address` now; when it does not resolve, `h.resolve_error` is "<at()>: cannot
/// resolve <address>" (`at()`: "<file>:<line>: <key>", where the address was written; built
/// only then, not for each of a large table's hosts).
template <class At>
void resolve_host(Host& h, const At& at) {
    h.resolved = resolve_address(h.address);
    if (h.resolved.empty()) {
        h.resolve_error = at() + ": cannot resolve " + h.address;
    }
}

HostTable load_hosts_tab(const std::filesystem::path& file, const std::string& text) {
    std::vector<int> lines;
    std::vector<Host> hosts = parse_hosts_tab(file, text, &lines);
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        resolve_host(hosts[i],
                     [&] { return file.string() + ":" + std::to_string(lines[i]) + ": name"; });
    }
    return HostTable(std::move(hosts));
}

} // namespace

std::string render_host_table(const std::filesystem::path& file,
                              const std::vector<const Host*>& hosts) {
    if (is_hosts_tab(file)) {
        return render_hosts_tab(hosts);
    }
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "hosts" << YAML::Value << YAML::BeginSeq;
    for (const Host* h : hosts) {
        out << YAML::Flow << YAML::BeginMap;
        out << YAML::Key << "id" << YAML::Value << h->id;
        out << YAML::Key << "address" << YAML::Value << YAML::DoubleQuoted << h->address;
        out << YAML::Key << "port" << YAML::Value << h->port;
        if (!h->domain.empty()) {
            out << YAML::Key << "domain" << YAML::Value << YAML::DoubleQuoted << h->domain;
        }
        if (!h->role.empty()) {
            out << YAML::Key << "role" << YAML::Value << YAML::DoubleQuoted << h->role;
        }
        out << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

HostTable load_host_table(const std::filesystem::path& file, const std::string& text) {
    if (is_hosts_tab(file)) {
        return load_hosts_tab(file, text);
    }
    auto entries = read_plain_hosts_yaml(text);
    if (!entries) {
        return load_host_table_nodes(file, text); // it says what is wrong
    }
    std::string where = std::filesystem::absolute(file).lexically_normal().string() + ":";
    std::vector<Host> hosts;
    hosts.reserve(entries->size());
    for (std::size_t i = 0; i < entries->size(); ++i) {
        resolve_host(hosts.emplace_back(std::move((*entries)[i].host)), [&] {
            return where + std::to_string((*entries)[i].address_line) + ": hosts[" +
                   std::to_string(i) + "].address";
        });
    }
    return HostTable(std::move(hosts));
}

HostTable load_host_table_nodes(const std::filesystem::path& file, const std::string& text) {
    YamlReader r(file, text);
    r.check_map(r.root(), "", {"hosts"});
    const YAML::Node& list = r.root()["hosts"];
    if (!list || !list.IsSequence()) {
        r.fail(list ? list : r.root(), "hosts", "expected a list of hosts");
    }
    std::vector<Host> hosts;
    std::vector<int> lines;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const YAML::Node& n = list[i];
        std::string key = "hosts[" + std::to_string(i) + "]";
        r.check_map(n, key, {"id", "address", "port", "domain", "role"});
        Host h;
        if (!n["id"]) {
            r.fail(n, key + ".id", "missing");
        }
        h.id = r.get_string(n["id"], key + ".id");
        if (!valid_host_id(h.id)) {
            r.fail(n["id"], key + ".id", "not a valid host id (letters, digits, _ and -)");
        }
        for (std::size_t j = 0; j < hosts.size(); ++j) {
            if (hosts[j].id == h.id) {
                r.fail(n["id"], key + ".id",
                       "duplicate host " + h.id + " (first on line " + std::to_string(lines[j]) + ")");
            }
        }
        if (!n["address"]) {
            r.fail(n, key + ".address", "missing");
        }
        h.address = r.get_string(n["address"], key + ".address");
        if (n["port"]) {
            h.port = static_cast<std::uint16_t>(r.get_int(n["port"], key + ".port", 1, 65535));
        }
        if (n["domain"]) {
            h.domain = r.get_optional_string(n["domain"], key + ".domain").value_or("");
        }
        if (n["role"]) {
            h.role = r.get_optional_string(n["role"], key + ".role").value_or("");
        }
        resolve_host(h, [&] { return r.where(n["address"]) + ": " + key + ".address"; });
        lines.push_back(n.Mark().line + 1);
        hosts.push_back(std::move(h));
    }
    return HostTable(std::move(hosts));
}

} // namespace lon
