#pragma once

#include <filesystem>
#include <string>

namespace it {

/// An independent lonlink client written straight against OpenSSL (not the project's link
/// code): connects from `source_ip`, sends the init line offering ssl, and after "ok:ssl"
/// runs a TLS handshake presenting `cert`/`key`, trusting `ca`; then sends "1 ping" and
/// reads the reply. Returns what happened, as one of:
///   "refused:<reason>"      the server refused in plaintext
///   "closed"                the server closed the connection (during or after the handshake)
///   "handshake failed: ..." the TLS handshake failed
///   "reply:<line>"          the ping's reply line over TLS
struct TlsAttempt {
    std::string source_ip, dest_ip;
    std::string client_id, server_id;
    std::filesystem::path cert, key, ca;
    std::string extra_plaintext; ///< sent right after the init line (injection attempts)
};
std::string tls_attempt(const TlsAttempt& a);

/// Makes a key and a certificate with subject CN=`cn` and SAN URI:lonhost:`san` (`cn` when
/// empty), signed by the CA in `ca_dir` (ca.pem, ca.key), valid from `start` to `end`
/// (openssl ca date format YYYYMMDDHHMMSSZ). Written to dir/<name>.pem and dir/<name>.key.
/// Throws on failure.
void forge_certificate(const std::filesystem::path& ca_dir, const std::filesystem::path& dir,
                       const std::string& name, const std::string& cn, const std::string& start,
                       const std::string& end, const std::string& san = "");

/// A throw-away CA of our own (ca.pem, ca.key in `dir`), unrelated to the cluster's.
void make_rogue_ca(const std::filesystem::path& dir);

} // namespace it
