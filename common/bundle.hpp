#pragma once

// The set a parent validated (config file, hosts table, cert_dir's PEM files, passphrase), as
// bytes: it hands them to every child it starts and to its running children after each
// accepted HUP, so a child never reads the disk and never holds a half-valid set (issue 8).
// Pure: serialisation only; the sealed memfd carrying it is in sealed_memfd.hpp.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"

namespace lon {

/// cert_dir's files as read by the parent. `present` is false when one of the three files is
/// missing (the host has no certificate: insecure links where allowed), with the reason.
struct TlsFiles {
    bool present = false;
    std::string absent_reason;
    std::string ca;   ///< loncapaCA.pem
    std::string cert; ///< lonhostcert.pem (leaf first)
    std::string key;  ///< lonhostkey.pem (checked for mode 0600 or stricter when read)
    std::string passphrase; ///< first line of tls.key_passphrase_file ("" when none)
    std::string crl;  ///< loncapaCRL.pem ("" when there is none)
};

struct Bundle {
    std::filesystem::path config_file; ///< absolute; names errors, resolves relative paths
    ConfigSources config;
    TlsFiles tls;
};

/// Largest serialised bundle a child accepts (config, hosts table and PEM files together).
inline constexpr std::size_t max_bundle_bytes = 64ULL * 1024 * 1024;

[[nodiscard]] std::string serialize_bundle(const Bundle& bundle);
/// The bundle in `bytes`, or nullopt with `error` set when they are not one.
[[nodiscard]] std::optional<Bundle> parse_bundle(std::string_view bytes, std::string& error);

} // namespace lon
