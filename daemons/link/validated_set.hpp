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
/// Parent, second step: cert_dir's files from disk (key mode checked), built into contexts.
/// Returns "" when usable or absent, else why they must not be used.
[[nodiscard]] std::string read_credentials(ValidatedSet& set);

/// Child: the set from bytes a parent validated; reads no file. Throws ConfigError or
/// std::runtime_error (never expected: the parent checked the same bytes).
[[nodiscard]] ValidatedSet load_bundle(Bundle bundle);

/// A sealed memfd holding `bundle` (see common/sealed_memfd.hpp). Invalid with `ec` set on
/// failure.
[[nodiscard]] UniqueFd seal_bundle(const Bundle& bundle, std::error_code& ec);
/// Parent: seals `bundle` into `held` as the set its children get from now on; on failure
/// logs why and leaves `held` as it was (false).
bool adopt_bundle_for_children(const Bundle& bundle, UniqueFd& held);
/// The bundle in the sealed memfd `fd`. Throws std::runtime_error.
[[nodiscard]] Bundle read_bundle(int fd);

/// The data of a control-channel packet that carries a bundle memfd rather than a
/// connection (a connection's packet starts with its init line, "init:").
inline constexpr std::string_view bundle_packet = "bundle";

} // namespace lon::link
