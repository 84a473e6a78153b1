#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/ssl.hpp>

#include "bundle.hpp"
#include "config.hpp"

namespace lon::link {

/// This host's TLS credentials from cert_dir: loncapaCA.pem (cluster CA, may hold a chain),
/// lonhostcert.pem (leaf first, intermediates after), lonhostkey.pem (0600 or stricter).
/// Holds one server and one client context, built once per load. Whether the certificate is
/// within its validity dates is not part of the load: it depends on the clock, which may be
/// wrong for a while (usable_at is asked at each use, so a certificate dropped while the
/// clock was wrong is used again once it is right, without a reload).
struct TlsCredentials {
    /// For lond (tls_server, verify the client); null when loaded for a lonc child.
    std::shared_ptr<asio::ssl::context> server;
    /// For lonc (tls_client, verify the server); null when loaded for a lond child.
    std::shared_ptr<asio::ssl::context> client;
    std::string subject;                        ///< our certificate's subject CN
    std::time_t not_before = 0;                 ///< our certificate's start
    std::time_t not_after = 0;                  ///< our certificate's expiry
    std::string fingerprint;                    ///< SHA-256 of our certificate, and of the
                                                ///< CRL when there is one (reload changes)
    /// The CRLs of loncapaCRL.pem (empty when the file is absent), checked (signed by the
    /// cluster CA, current) and installed in both contexts' verify stores (leaf checking).
    std::vector<std::shared_ptr<X509_CRL>> crls;

    /// Whether `cert` is listed in our CRLs (for links made before a reload).
    [[nodiscard]] bool revokes(X509* cert) const;

    /// Whole days until our certificate expires (negative once expired).
    [[nodiscard]] long days_left(std::time_t now) const;
    /// Whether our certificate is within its validity dates at `now`.
    [[nodiscard]] bool usable_at(std::time_t now) const { return now >= not_before && now < not_after; }
    /// "" when usable at `now`, else "lonhostcert.pem has expired" / "... is not valid yet".
    [[nodiscard]] std::string unusable_reason(std::time_t now) const;
};

/// Which TLS contexts load_tls_credentials builds. A parent builds both (it validates the set
/// its children get); a lonc child connects and uses only the client context, a lond child
/// accepts and uses only the server one. Each context is built with every check (CA, chain,
/// key matching, CRL), so a child that builds one checks everything the parent checked; the
/// other context cost a child about 1.3 ms of CPU for nothing (bench/README.md, "A child's
/// start-up").
enum class TlsContexts { both, client_only, server_only };

/// Outcome of loading credentials: credentials (maybe outside their dates: see usable_at),
/// "none" (files missing: the host may link insecure where policy allows), or an error (files
/// present but unusable: wrong key mode, key not matching, unreadable, not for this host).
struct TlsLoad {
    std::optional<TlsCredentials> credentials;
    std::string absent_reason; ///< why there are no usable credentials (when not an error)
    std::string error;         ///< set when the files are present but must not be used
};

/// Reads cert_dir's files for `config` (parent: startup and reload): `present` false with the
/// reason when one is missing; `error` set when the key is a symbolic link, not a regular
/// file, or readable by group or others (mode must be 0600 or stricter; checked on the open
/// file, so the file checked is the file read) or a file cannot be read. loncapaCRL.pem is
/// read when present.
[[nodiscard]] TlsFiles read_tls_files(const Config& config, std::string& error);

/// Builds and checks the credentials from those bytes (parent after reading them, child from
/// its parent's bundle; never on the data path): the CA parses, the chain and key load, the
/// key matches, the certificate is for config.host_id, the CRL (if any) is signed by the CA,
/// current and does not revoke us. Errors are plain sentences with the fix. Reads no file.
/// `which` says which contexts to build (the other one stays null).
[[nodiscard]] TlsLoad load_tls_credentials(const Config& config, const TlsFiles& files,
                                           TlsContexts which = TlsContexts::both);

/// After a handshake: checks that the peer's (already chain- and date-verified) certificate
/// names `expected_id` as subject CN and as subjectAltName URI:lonhost:<id>. Returns "" when
/// it does, else the reason. Also reports the peer's CN and expiry when asked.
[[nodiscard]] std::string check_peer_identity(SSL* ssl, const std::string& expected_id,
                                              std::string* subject = nullptr,
                                              std::time_t* not_after = nullptr);

/// True when the handshake failed because the peer's certificate is in our CRL.
[[nodiscard]] bool peer_revoked(SSL* ssl);

/// After a reload: whether the peer certificate of an established link is now revoked.
[[nodiscard]] bool peer_revoked_by(SSL* ssl, const TlsCredentials& credentials);

/// The OpenSSL reason for a failed handshake or verification, as one line.
[[nodiscard]] std::string describe_tls_failure(SSL* ssl, const std::error_code& ec);

} // namespace lon::link
