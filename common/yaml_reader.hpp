#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "units.hpp"

namespace lon {

/// Typed, located access to one YAML file: every error it throws is a ConfigError reading
/// "<file>:<line>: <key>: <problem>". Shared by the config and hosts-table loaders.
class YamlReader {
public:
    /// Parses `file`; throws ConfigError if it cannot be read or is not YAML.
    explicit YamlReader(std::filesystem::path file);
    /// Parses `text`, the contents of `file` read earlier (errors and relative paths still
    /// refer to `file`, which is not read).
    YamlReader(std::filesystem::path file, const std::string& text);

    [[nodiscard]] const YAML::Node& root() const { return root_; }
    [[nodiscard]] const std::filesystem::path& file() const { return file_; }

    /// "<file>:<line>" of `at` (as fail() writes it).
    [[nodiscard]] std::string where(const YAML::Node& at) const;
    [[noreturn]] void fail(const YAML::Node& at, std::string_view key, std::string_view problem) const;

    /// Requires `node` to be a map whose keys are all in `allowed` (key path `prefix`).
    void check_map(const YAML::Node& node, std::string_view prefix,
                   std::initializer_list<std::string_view> allowed) const;

    [[nodiscard]] std::string get_string(const YAML::Node& n, std::string_view key) const;
    [[nodiscard]] std::optional<std::string> get_optional_string(const YAML::Node& n,
                                                                 std::string_view key) const;
    [[nodiscard]] bool get_bool(const YAML::Node& n, std::string_view key) const;
    [[nodiscard]] std::int64_t get_int(const YAML::Node& n, std::string_view key, std::int64_t min,
                                       std::int64_t max) const;
    [[nodiscard]] double get_double(const YAML::Node& n, std::string_view key) const;
    /// A duration (parse_duration) of at most max_config_duration.
    [[nodiscard]] Millis get_duration(const YAML::Node& n, std::string_view key) const;
    [[nodiscard]] std::uint64_t get_size(const YAML::Node& n, std::string_view key) const;
    /// A path, resolved against the file's folder when relative, made absolute.
    [[nodiscard]] std::filesystem::path get_path(const YAML::Node& n, std::string_view key) const;
    [[nodiscard]] std::filesystem::path resolve(const std::string& path) const;

private:
    std::filesystem::path file_;
    YAML::Node root_;
};

/// The whole contents of `file` (absolute, normalised); throws ConfigError "<file>: cannot
/// read: <reason>".
[[nodiscard]] std::string read_config_text(const std::filesystem::path& file);

/// The integer a config scalar spells (std::stoll's syntax, the whole of `s`), or nullopt.
[[nodiscard]] std::optional<std::int64_t> parse_config_int(const std::string& s);

/// "a.b" from prefix "a" and key "b" (just "b" when the prefix is empty).
[[nodiscard]] std::string join_key(std::string_view prefix, std::string_view key);

} // namespace lon
