#include "yaml_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "config.hpp"

namespace lon {

std::string join_key(std::string_view prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

std::optional<std::int64_t> parse_config_int(const std::string& s) {
    std::int64_t v = 0;
    std::size_t used = 0;
    try {
        v = std::stoll(s, &used);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (used != s.size() || used == 0) {
        return std::nullopt;
    }
    return v;
}

std::string read_config_text(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        throw ConfigError(file.string() + ": cannot read: " + std::strerror(errno));
    }
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) { // opens fine, reads as nothing
        throw ConfigError(file.string() + ": cannot read: " + std::strerror(EISDIR));
    }
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

YamlReader::YamlReader(std::filesystem::path file)
    : YamlReader(file, read_config_text(std::filesystem::absolute(file).lexically_normal())) {}

YamlReader::YamlReader(std::filesystem::path file, const std::string& text)
    : file_(std::filesystem::absolute(file).lexically_normal()) {
    try {
        root_ = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        int line = e.mark.is_null() ? 1 : e.mark.line + 1;
        throw ConfigError(file_.string() + ":" + std::to_string(line) + ": " + e.msg);
    }
    if (!root_.IsMap()) {
        throw ConfigError(file_.string() + ":1: expected a map of settings");
    }
}

std::string YamlReader::where(const YAML::Node& at) const {
    int line = at.Mark().is_null() ? 1 : at.Mark().line + 1;
    return file_.string() + ":" + std::to_string(line);
}

void YamlReader::fail(const YAML::Node& at, std::string_view key, std::string_view problem) const {
    throw ConfigError(where(at) + ": " + std::string(key) + ": " + std::string(problem));
}

void YamlReader::check_map(const YAML::Node& node, std::string_view prefix,
                           std::initializer_list<std::string_view> allowed) const {
    if (!node.IsMap()) {
        fail(node, prefix, "expected a map");
    }
    std::vector<std::string> seen;
    for (const auto& kv : node) {
        auto name = kv.first.Scalar();
        bool known = false;
        for (auto a : allowed) {
            known = known || a == name;
        }
        if (!known) {
            fail(kv.first, join_key(prefix, name), "unknown key");
        }
        // yaml-cpp keeps the first of two equal keys silently; an admin who wrote the key
        // twice meant one of them, so say so rather than guess.
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
            fail(kv.first, join_key(prefix, name), "given twice");
        }
        seen.push_back(name);
    }
}

std::string YamlReader::get_string(const YAML::Node& n, std::string_view key) const {
    if (!n.IsScalar() || n.Scalar().empty()) {
        fail(n, key, "expected a non-empty string");
    }
    return n.Scalar();
}

std::optional<std::string> YamlReader::get_optional_string(const YAML::Node& n,
                                                           std::string_view key) const {
    if (n.IsNull() || (n.IsScalar() && n.Scalar().empty())) {
        return std::nullopt;
    }
    return get_string(n, key);
}

bool YamlReader::get_bool(const YAML::Node& n, std::string_view key) const {
    if (n.IsScalar()) {
        const auto& s = n.Scalar();
        if (s == "true" || s == "yes" || s == "on") {
            return true;
        }
        if (s == "false" || s == "no" || s == "off") {
            return false;
        }
    }
    fail(n, key, "expected true or false");
}

std::int64_t YamlReader::get_int(const YAML::Node& n, std::string_view key, std::int64_t min,
                                 std::int64_t max) const {
    if (n.IsScalar()) {
        const auto& s = n.Scalar();
        if (auto v = parse_config_int(s)) {
            if (*v < min || *v > max) {
                fail(n, key, "must be between " + std::to_string(min) + " and " +
                                 std::to_string(max) + ", got " + s);
            }
            return *v;
        }
    }
    fail(n, key, "expected an integer, got \"" + (n.IsScalar() ? n.Scalar() : "?") + "\"");
}

double YamlReader::get_double(const YAML::Node& n, std::string_view key) const {
    if (n.IsScalar()) {
        std::size_t used = 0;
        double v = 0;
        try {
            v = std::stod(n.Scalar(), &used);
        } catch (const std::exception&) {
            used = 0;
        }
        // stod also reads "nan" and "inf", which no setting can mean.
        if (used == n.Scalar().size() && used > 0 && std::isfinite(v)) {
            return v;
        }
    }
    fail(n, key, "expected a number");
}

Millis YamlReader::get_duration(const YAML::Node& n, std::string_view key) const {
    if (n.IsScalar()) {
        if (auto d = parse_duration(n.Scalar())) {
            if (*d > max_config_duration) {
                fail(n, key, "must be at most 365d, got \"" + n.Scalar() + "\"");
            }
            return *d;
        }
    }
    fail(n, key, "expected a duration such as 30s, 5m, 250ms, got \"" +
                     (n.IsScalar() ? n.Scalar() : "?") + "\"");
}

std::uint64_t YamlReader::get_size(const YAML::Node& n, std::string_view key) const {
    if (n.IsScalar()) {
        if (auto s = parse_size(n.Scalar())) {
            return *s;
        }
    }
    fail(n, key, "expected a size such as 16MiB, 64KiB, got \"" +
                     (n.IsScalar() ? n.Scalar() : "?") + "\"");
}

std::filesystem::path YamlReader::resolve(const std::string& path) const {
    std::filesystem::path p(path);
    if (p.is_relative()) {
        p = file_.parent_path() / p;
    }
    return p.lexically_normal();
}

std::filesystem::path YamlReader::get_path(const YAML::Node& n, std::string_view key) const {
    return resolve(get_string(n, key));
}

} // namespace lon
