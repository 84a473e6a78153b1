#pragma once

// LON-CAPA's hosts table format (hosts.tab), read when `hosts_file` ends in ".tab" (issue
// 10 §7). Pure: text in, hosts out; no resolution (load_host_table resolves).
//
// One host per line: `lonHostID:domain:role:name[:protocol[:intdom]]`
//   * lonHostID  a valid host id (valid_host_id), unique in the file;
//   * domain, role  non-empty (LON-CAPA's domain and "library"/"access"; kept, not checked);
//   * name       a DNS name or an IP literal; an IPv6 literal is written in brackets,
//                `[fd00::1]`, since the fields are colon-separated (brackets are only for
//                that: a bracketed name must be an IPv6 literal);
//   * protocol, intdom and any further fields are ignored (LON-CAPA's web protocol and
//     internet domain: nothing lonlink uses).
// Every host listens on port 5663 (the format has no port; LON-CAPA's lond always does).
// Blank lines and lines whose first non-blank character is `#` are skipped; spaces, tabs and
// CRs around a line are ignored; a line of fewer than four fields, or one of its first four
// fields empty or holding a space or control character, is malformed. A malformed line is an error naming file and line:
// ConfigError "<file>:<line>: <field>: <problem>".

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "host_table.hpp"

namespace lon {

/// The hosts of a hosts.tab text (`file` only names errors), in file order, with each
/// host's 1-based line in `lines` when given. Throws ConfigError.
[[nodiscard]] std::vector<Host> parse_hosts_tab(const std::filesystem::path& file,
                                                std::string_view text,
                                                std::vector<int>* lines = nullptr);

/// `hosts` as hosts.tab lines that parse_hosts_tab reads back to the same ids, domains,
/// roles and addresses (IPv6 literals bracketed). Hosts from a .tab file have a non-empty
/// domain and role; an empty one is written as "-" so that the line still parses.
[[nodiscard]] std::string render_hosts_tab(const std::vector<const Host*>& hosts);

} // namespace lon
