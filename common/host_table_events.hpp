#pragma once

// hosts.yaml read from yaml-cpp's parser events instead of its node tree. For a 1,000-host
// table the tree's node allocations were most of a parent's start-up (bench/README.md,
// "bench/mesh start-up"); the events give the same values without them. Only the plain
// shape is read here; anything else is left to the node-tree reader, which words every
// error with file, line and key.

#include <optional>
#include <string>
#include <vector>

#include "host_table.hpp"

namespace lon {

/// A host as hosts.yaml gives it (not resolved), and the line of its `address` value.
struct HostEntry {
    Host host;
    int address_line = 0; ///< 1-based
};

/// The hosts of `text` when it has the plain shape and every value is valid: one map with the
/// single key `hosts`, a list of maps with the keys id, address, port, domain, role (each at
/// most once) and scalar or null values, no tags, anchors or aliases; ids valid and unique,
/// address given, port 1..65535. Otherwise (or on a YAML syntax error) nullopt: the caller
/// reads the text with the node tree, whose result is then the answer (its checks are the
/// ones that fail). For text this returns hosts for, the node tree reads the same hosts.
[[nodiscard]] std::optional<std::vector<HostEntry>> read_plain_hosts_yaml(const std::string& text);

} // namespace lon
