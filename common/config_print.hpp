#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace lon {

/// The value of a dotted config key (`listen.port`, `paths.cert_dir`, `lonc.retries`) as
/// loaded and validated: defaults filled in, paths absolute, durations as `<n>s` or `<n>ms`,
/// sizes in the largest exact unit (`16MiB`), booleans `true`/`false`, null as an empty
/// string, lists as `[a, b]`. `hosts` gives every host id of the hosts table, separated by
/// spaces; `hosts.<id>.address` and `hosts.<id>.port` that host's entry. nullopt for a key the config does not have (`lond --print` backs `--print KEY`).
[[nodiscard]] std::optional<std::string> config_value(const Config& config, std::string_view key);

/// Every key config_value knows, in file order (for the error message of an unknown key).
[[nodiscard]] std::vector<std::string> config_keys();

} // namespace lon
