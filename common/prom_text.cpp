#include "prom_text.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace lon {

namespace {

bool alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool digit(char c) {
    return c >= '0' && c <= '9';
}

} // namespace

bool prom_valid_name(std::string_view name) {
    if (name.empty() || !(alpha(name[0]) || name[0] == ':')) {
        return false;
    }
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return alpha(c) || digit(c) || c == ':'; });
}

bool prom_valid_label_name(std::string_view name) {
    if (name.empty() || !alpha(name[0]) || name.substr(0, 2) == "__") {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) { return alpha(c) || digit(c); });
}

std::string prom_escape_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out.push_back(c);
        }
    }
    return out;
}

std::string prom_escape_help(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string prom_value(double value) {
    if (std::isnan(value)) {
        return "NaN";
    }
    if (std::isinf(value)) {
        return value > 0 ? "+Inf" : "-Inf";
    }
    // Counts and unix times are whole: print them as integers, never in exponent form.
    constexpr double exact = 9007199254740992.0; // 2^53
    if (value == std::trunc(value) && std::fabs(value) < exact) {
        return fmt::format("{}", static_cast<long long>(value));
    }
    return fmt::format("{}", value); // shortest round-trip form
}

bool PromText::declare(std::string_view name, PromType type, std::string_view help) {
    if (!prom_valid_name(name)) {
        return false;
    }
    constexpr std::string_view suffix = "_total";
    if (type == PromType::counter &&
        (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix)) {
        return false;
    }
    if (std::any_of(families_.begin(), families_.end(),
                    [&](const Family& f) { return f.name == name; })) {
        return false;
    }
    families_.push_back({std::string(name), std::string(help), type, {}});
    return true;
}

bool PromText::sample(std::string_view name, const PromLabels& labels, double value) {
    auto it = std::find_if(families_.begin(), families_.end(),
                           [&](const Family& f) { return f.name == name; });
    if (it == families_.end()) {
        return false;
    }
    std::string line(name);
    if (!labels.empty()) {
        line += '{';
        bool first = true;
        for (const auto& [key, val] : labels) {
            if (!prom_valid_label_name(key)) {
                return false;
            }
            line += first ? "" : ",";
            first = false;
            line += key + "=\"" + prom_escape_label(val) + '"';
        }
        line += '}';
    }
    line += ' ' + prom_value(value) + '\n';
    it->samples.push_back(std::move(line));
    return true;
}

std::string PromText::text() const {
    std::string out;
    for (const Family& f : families_) {
        out += "# HELP " + f.name + ' ' + prom_escape_help(f.help) + '\n';
        out += "# TYPE " + f.name + (f.type == PromType::counter ? " counter\n" : " gauge\n");
        for (const auto& s : f.samples) {
            out += s;
        }
    }
    return out;
}

} // namespace lon
