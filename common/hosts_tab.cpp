#include "hosts_tab.hpp"

#include <arpa/inet.h>

#include "config.hpp"

namespace lon {
namespace {

constexpr std::string_view blanks = " \t\r";

/// Spaces and control characters (a NUL, a stray CR) have no place in a field.
bool has_space_or_control(std::string_view s) {
    for (char ch : s) {
        auto u = static_cast<unsigned char>(ch);
        if (u <= 0x20 || u == 0x7f) {
            return true;
        }
    }
    return false;
}

std::string_view trim(std::string_view s) {
    std::size_t b = s.find_first_not_of(blanks);
    if (b == std::string_view::npos) {
        return {};
    }
    std::size_t e = s.find_last_not_of(blanks);
    return s.substr(b, e - b + 1);
}

bool is_ipv6_literal(std::string_view s) {
    in6_addr out{};
    std::string z(s);
    return ::inet_pton(AF_INET6, z.c_str(), &out) == 1;
}

class LineError {
public:
    LineError(const std::filesystem::path& file, int line) : file_(file), line_(line) {}
    [[noreturn]] void fail(std::string_view field, std::string_view problem) const {
        throw ConfigError(file_.string() + ":" + std::to_string(line_) + ": " +
                          std::string(field) + ": " + std::string(problem));
    }

private:
    const std::filesystem::path& file_;
    int line_;
};

/// The colon-separated fields of `line`; the name (fourth) field, when it starts with '[',
/// runs to its ']' (an IPv6 literal keeps its colons) and keeps the brackets.
std::vector<std::string_view> split_fields(std::string_view line, const LineError& err) {
    std::vector<std::string_view> fields;
    std::size_t pos = 0;
    while (true) {
        std::size_t end = 0;
        if (fields.size() == 3 && pos < line.size() && line[pos] == '[') {
            std::size_t close = line.find(']', pos);
            if (close == std::string_view::npos) {
                err.fail("name", "'[' without ']'");
            }
            end = close + 1;
            if (end < line.size() && line[end] != ':') {
                err.fail("name", "']' must end the field");
            }
        } else {
            end = line.find(':', pos);
            if (end == std::string_view::npos) {
                end = line.size();
            }
        }
        fields.push_back(line.substr(pos, end - pos));
        if (end >= line.size()) {
            return fields;
        }
        pos = end + 1;
    }
}

} // namespace

std::vector<Host> parse_hosts_tab(const std::filesystem::path& file, std::string_view text,
                                  std::vector<int>* lines) {
    std::vector<Host> hosts;
    std::vector<int> at;
    int number = 0;
    while (!text.empty()) {
        std::size_t eol = text.find('\n');
        std::string_view raw = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        ++number;
        std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        LineError err(file, number);
        auto fields = split_fields(line, err);
        if (fields.size() < 4) {
            err.fail("line", "expected lonHostID:domain:role:name[:protocol[:intdom]], found " +
                                 std::to_string(fields.size()) + " field(s)");
        }
        static constexpr std::string_view names[] = {"lonHostID", "domain", "role", "name"};
        for (std::size_t i = 0; i < 4; ++i) {
            if (fields[i].empty()) {
                err.fail(names[i], "empty");
            }
            if (has_space_or_control(fields[i])) {
                err.fail(names[i], "contains a space or control character");
            }
            if (i < 3 && (fields[i].front() == '[')) {
                err.fail(names[i], "brackets are only for an IPv6 literal name");
            }
        }
        Host h;
        h.id = std::string(fields[0]);
        if (!valid_host_id(h.id)) {
            err.fail("lonHostID", "not a valid host id (letters, digits, _ and -): " + h.id);
        }
        for (std::size_t j = 0; j < hosts.size(); ++j) {
            if (hosts[j].id == h.id) {
                err.fail("lonHostID",
                         "duplicate host " + h.id + " (first on line " + std::to_string(at[j]) + ")");
            }
        }
        h.domain = std::string(fields[1]);
        h.role = std::string(fields[2]);
        std::string_view name = fields[3];
        if (name.front() == '[') {
            std::string_view inner = name.substr(1, name.size() - 2);
            if (!is_ipv6_literal(inner)) {
                err.fail("name", "not an IPv6 literal in brackets: " + std::string(name));
            }
            name = inner;
        } else if (name.find_first_of("[]") != std::string_view::npos) {
            err.fail("name", "stray bracket (an IPv6 literal is written [addr]): " +
                                 std::string(name));
        }
        h.address = std::string(name);
        hosts.push_back(std::move(h));
        at.push_back(number);
    }
    if (lines != nullptr) {
        *lines = std::move(at);
    }
    return hosts;
}

std::string render_hosts_tab(const std::vector<const Host*>& hosts) {
    std::string out;
    for (const Host* h : hosts) {
        out += h->id;
        out += ':';
        out += h->domain.empty() ? "-" : h->domain;
        out += ':';
        out += h->role.empty() ? "-" : h->role;
        out += ':';
        bool v6 = h->address.find(':') != std::string::npos;
        out += v6 ? "[" + h->address + "]" : h->address;
        out += '\n';
    }
    return out;
}

} // namespace lon
