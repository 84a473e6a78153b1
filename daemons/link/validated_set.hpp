#pragma once

// The configuration and credentials a daemon runs with, validated as one set (issue 8): a
// parent reads them from disk at start and on HUP and keeps the bytes (common/bundle.hpp); it
// hands those bytes to every child it starts (a sealed memfd named by --bundle) and to its
// running children after each accepted HUP (over their control channel). A child parses
// them and never reads the disk, so a HUP the parent refused (broken YAML, a key readable by
// others, another host's certificate, a garbage CA) cannot reach a child started later, and
// no child ever holds a half-valid set.

#include <filesystem>
#include <string>
#include <string_view>

#include "bundle.hpp"
#include "config.hpp"
#include "tls_credentials.hpp"
#include "unique_fd.hpp"

namespace lon::link {

struct ValidatedSet {
    Config config;
    Bundle bundle; ///< the bytes `config` and `tls` were built from
    /// Our credentials (possibly outside their validity dates right now: TlsCredentials::
    /// usable_at decides at each use), or absent with the reason; never an error.
    TlsLoad tls;
};

/// Parent, first step: the config file and its hosts table from disk. Throws ConfigError
/// ("<file>:<line>: <key>: <problem>").
[[nodiscard]] ValidatedSet read_config_set(const std::filesystem::path& config_file);
/// Parent: gives the heap that loading a set freed back to the system (malloc_trim). The
/// YAML parse of a large hosts table peaks at about 4.5 KiB per host, all freed once the
/// table is built, but glibc keeps freed heap as the process's own dirty memory: without
/// this a parent of a 2,000-host table kept 9 MiB it did not use (issue 9 §7). Called after
/// each load (start, HUP) once the set it replaced is gone.
void return_freed_heap();
/// Parent, second step: cert_dir's files from disk (key mode checked), built into contexts.
/// Returns "" when usable or absent, else why they must not be used.
[[nodiscard]] std::string read_credentials(ValidatedSet& set);

/// Child: the set from bytes a parent validated; reads no file. Builds only the TLS
/// context(s) `which` names (the one the child's role uses), with every check. Throws
/// ConfigError or std::runtime_error (never expected: the parent checked the same bytes).
[[nodiscard]] ValidatedSet load_bundle(Bundle bundle, TlsContexts which);

/// A sealed memfd holding `bundle` (see common/sealed_memfd.hpp). Invalid with `ec` set on
/// failure.
[[nodiscard]] UniqueFd seal_bundle(const Bundle& bundle, std::error_code& ec);
/// Parent: the bundle for its child serving `peer`: `full` (what it validated, read by
/// `config`) with a hosts table that holds only this host's entry and the peer's, in the
/// hosts_file's own format (host_table.hpp render_host_table), so that the child parses,
/// resolves and keeps two hosts however large the table is (issue 9 §7). A child needs
/// nothing else from the table: it links to (lonc) or serves (lond) that one peer, binds
/// to its own address, and the lond parent checked the peer's source address before the
/// hand-off. A peer no longer in `config`'s table is left out: its child sees that and
/// stops.
[[nodiscard]] Bundle bundle_for_peer(const Bundle& full, const Config& config,
                                     std::string_view peer);
/// A sealed memfd holding bundle_for_peer(...). Invalid with `ec` set on failure.
[[nodiscard]] UniqueFd seal_bundle_for_peer(const Bundle& full, const Config& config,
                                            std::string_view peer, std::error_code& ec);
/// Parent: what it keeps of a validated set's bytes to build its children's bundles: all
/// of them but the hosts table text (each child's table is rendered from `Config::hosts`,
/// and the text would cost memory per host for nothing).
[[nodiscard]] Bundle keep_for_children(Bundle bundle);
/// The bundle in the sealed memfd `fd`. Throws std::runtime_error.
[[nodiscard]] Bundle read_bundle(int fd);

/// The data of a control-channel packet that carries a bundle memfd rather than a
/// connection (a connection's packet starts with its init line, "init:").
inline constexpr std::string_view bundle_packet = "bundle";

} // namespace lon::link
