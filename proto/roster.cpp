#include "roster.hpp"

#include <charconv>

#include "host_table.hpp"

namespace lon::proto {
namespace {

template <typename T> bool parse_number(std::string_view s, T& out) {
    if (s.empty() || s.size() > 19) {
        return false;
    }
    for (char ch : s) {
        if (ch < '0' || ch > '9') {
            return false; // from_chars would take a sign
        }
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

/// "2025-06-01T12:00:00Z": digits where digits belong, the separators in place.
bool valid_date(std::string_view s) {
    constexpr std::string_view shape = "dddd-dd-ddTdd:dd:ddZ";
    if (s.size() != shape.size()) {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        bool digit = s[i] >= '0' && s[i] <= '9';
        if (shape[i] == 'd' ? !digit : s[i] != shape[i]) {
            return false;
        }
    }
    return true;
}

RosterParse fail(std::size_t line_no, std::string why) {
    return RosterParse{std::nullopt, "line " + std::to_string(line_no) + ": " + std::move(why)};
}

} // namespace

bool Roster::lists(const std::string& id, std::time_t now) const {
    auto it = hosts.find(id);
    return it != hosts.end() && it->second > now;
}

RosterParse parse_roster(std::string_view text) {
    if (text.size() > max_roster_bytes) {
        return RosterParse{std::nullopt, "larger than " + std::to_string(max_roster_bytes) +
                                             " bytes"};
    }
    Roster r;
    bool have_serial = false;
    bool have_issued = false;
    std::size_t line_no = 0;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++line_no;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        auto sp = line.find(' ');
        std::string_view key = line.substr(0, sp);
        std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
        if (line_no == 1) {
            if (line != "lonlink-roster 1") {
                return fail(line_no, "not a lonlink roster (version 1)");
            }
            continue;
        }
        if (key == "serial") {
            if (have_serial || !parse_number(rest, r.serial)) {
                return fail(line_no, "bad or repeated serial");
            }
            have_serial = true;
        } else if (key == "issued") {
            if (have_issued || !valid_date(rest)) {
                return fail(line_no, "bad or repeated issue date");
            }
            r.issued = rest;
            have_issued = true;
        } else if (key == "host") {
            auto sp2 = rest.find(' ');
            std::string_view id = rest.substr(0, sp2);
            std::time_t not_after = 0;
            if (sp2 == std::string_view::npos || !valid_host_id(id) ||
                !parse_number(rest.substr(sp2 + 1), not_after)) {
                return fail(line_no, "expected 'host <id> <notAfter seconds>'");
            }
            auto& kept = r.hosts[std::string(id)];
            kept = std::max(kept, not_after);
        } else {
            return fail(line_no, "unknown line");
        }
    }
    if (line_no == 0) {
        return RosterParse{std::nullopt, "empty"};
    }
    if (!have_serial || !have_issued) {
        return RosterParse{std::nullopt, "missing serial or issue date"};
    }
    return RosterParse{std::move(r), {}};
}

bool replaces(const Roster& candidate, const Roster& current) {
    return candidate.serial >= current.serial;
}

} // namespace lon::proto
