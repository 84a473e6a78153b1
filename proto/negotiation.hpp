#pragma once

#include <optional>
#include <string>
#include <string_view>

/// The plaintext negotiation before a link carries requests (see PROTOCOL.md):
///   client: init:<version>:<client-id>:<server-id>:<offer>
///   server: ok:ssl | ok:insecure | refused:<reason>
/// Pure functions only; the daemons do the I/O.
namespace lon::proto {

inline constexpr int protocol_version = 1;
/// Longest init line accepted, '\n' excluded.
inline constexpr std::size_t max_init_line = 1024;

struct InitLine {
    int version = protocol_version;
    std::string client_id;
    std::string server_id;
    bool offers_ssl = false;
    bool offers_insecure = false;
};

/// "init:1:msul1:msul2:ssl,insecure" (no newline).
[[nodiscard]] std::string format_init(const InitLine& init);
/// nullopt unless the line is exactly that shape: version decimal, ids valid host ids, offer
/// a non-empty comma list of distinct "ssl"/"insecure".
[[nodiscard]] std::optional<InitLine> parse_init(std::string_view line);

enum class Refusal {
    unknown_host,     ///< claimed client id not in the hosts table
    address_mismatch, ///< source address is not the claimed host's
    ssl_required,     ///< server needs TLS, client cannot or may not
    downgrade,        ///< peer is pinned to ssl, insecure was asked for
    version,          ///< protocol version not supported
    busy,             ///< server cannot take the connection now
    wrong_server,     ///< the server id named in init is not this host
    bad_init,         ///< the init line is malformed, too long or late
    extra_data,       ///< bytes after the init line before TLS (STARTTLS injection)
    revoked,          ///< the client's certificate is in our CRL: no link, not even insecure
};
[[nodiscard]] std::string_view to_string(Refusal reason);

enum class Mode { ssl, insecure };
[[nodiscard]] std::string_view to_string(Mode mode);

/// A server's answer: a mode, or a refusal with its reason text.
struct Answer {
    bool ok = false;
    Mode mode = Mode::insecure; ///< valid when ok
    std::string reason;         ///< valid when !ok (may be a reason this build does not know)
};
[[nodiscard]] Answer accept(Mode mode);
[[nodiscard]] Answer refuse(Refusal reason);
/// "ok:ssl", "ok:insecure", "refused:<reason>" (no newline).
[[nodiscard]] std::string format_answer(const Answer& answer);
[[nodiscard]] std::optional<Answer> parse_answer(std::string_view line);

/// What one side has and may do.
struct Policy {
    bool have_cert = false;      ///< a usable (present, unexpired) certificate
    bool allow_insecure = true;  ///< config allow_insecure
    bool peer_pinned = false;    ///< this peer has negotiated ssl before
    /// The cluster CA's signed roster lists this peer with an unexpired certificate: it is
    /// treated as pinned even before the first ssl link (no trust on first use).
    bool peer_on_roster = false;

    /// Insecure with this peer would be a downgrade (pinned, or known to have a certificate).
    [[nodiscard]] bool peer_needs_ssl() const { return peer_pinned || peer_on_roster; }
};

/// The client's offer, or nullopt when it can offer nothing (no certificate and insecure
/// not allowed or the peer pinned or on the roster).
[[nodiscard]] std::optional<InitLine> client_offer(std::string_view client_id,
                                                    std::string_view server_id,
                                                    const Policy& policy);
/// The server's decision for a well-formed init from a known, address-checked client.
[[nodiscard]] Answer server_decide(const InitLine& init, const Policy& policy);
/// Whether the client may go on with `answer` to the offer it made (a client never accepts
/// insecure from a pinned or rostered peer, nor a mode it did not offer).
[[nodiscard]] bool client_accepts(const InitLine& offer, const Answer& answer,
                                  const Policy& policy);

} // namespace lon::proto
