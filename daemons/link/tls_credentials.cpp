#include "tls_credentials.hpp"

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unique_fd.hpp"

namespace lon::link {
namespace {

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
struct GeneralNamesFree {
    void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) {
            out += "; ";
        }
        out += buf;
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

std::time_t asn1_to_time(const ASN1_TIME* t) {
    struct tm tm {};
    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    return timegm(&tm);
}

std::string common_name(X509* cert) {
    char buf[256] = {};
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

bool has_lonhost_uri(X509* cert, const std::string& id) {
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) {
        return false;
    }
    const std::string want = "lonhost:" + id;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
        if (g->type == GEN_URI) {
            const ASN1_STRING* s = g->d.uniformResourceIdentifier;
            std::string uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                            static_cast<std::size_t>(ASN1_STRING_length(s)));
            if (uri == want) {
                return true;
            }
        }
    }
    return false;
}

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr memory_bio(const std::string& bytes) {
    return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

/// Credential files are small; anything larger is not one of ours.
constexpr std::size_t max_credential_file = 1 << 20;

/// Reads a whole file from an open descriptor (bounded).
bool read_fd(int fd, std::string& out) {
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return false;
        }
        if (n == 0) {
            return true;
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_credential_file) {
            errno = EFBIG;
            return false;
        }
    }
}

/// The whole of `file`, or nullopt with `error` set. With `private_key`, the file is opened
/// without following a symbolic link and checked on that open file (regular, mode 0600 or
/// stricter): no check-then-open race.
std::optional<std::string> read_whole(const std::filesystem::path& file, std::string& error,
                                      bool private_key = false) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | (private_key ? O_NOFOLLOW : 0)));
    if (!fd.valid()) {
        error = private_key && errno == ELOOP
                    ? file.string() + " is a symbolic link; refusing to use it (put the key "
                                      "file itself in cert_dir)"
                    : "cannot read " + file.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    if (private_key) {
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) {
            error = "cannot stat " + file.string() + ": " + std::strerror(errno);
            return std::nullopt;
        }
        if (!S_ISREG(st.st_mode)) {
            error = file.string() + " is not a regular file; refusing to use it";
            return std::nullopt;
        }
        if ((st.st_mode & 077) != 0) {
            char mode[8];
            std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
            error = file.string() + " has mode " + mode + "; refusing to use it (chmod 600 " +
                    file.string() + ")";
            return std::nullopt;
        }
    }
    std::string text;
    if (!read_fd(fd.get(), text)) {
        error = "cannot read " + file.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    return text;
}

/// Every certificate in a PEM text (the leaf first for a host certificate).
std::vector<X509Ptr> read_certs(const std::string& pem) {
    std::vector<X509Ptr> out;
    BioPtr bio = memory_bio(pem);
    while (bio) {
        X509Ptr c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!c) {
            break;
        }
        out.push_back(std::move(c));
    }
    ERR_clear_error(); // the end of the text reads as "no start line"
    return out;
}

std::string read_passphrase(const std::filesystem::path& file, std::string& error) {
    std::ifstream in(file);
    if (!in) {
        error = "cannot read tls.key_passphrase_file " + file.string() + ": " + std::strerror(errno);
        return {};
    }
    std::string pass;
    std::getline(in, pass);
    return pass;
}

int passphrase_cb(char* buf, int size, int, void* user) {
    const auto* pass = static_cast<const std::string*>(user);
    if (pass == nullptr || size <= 0) {
        return 0;
    }
    int n = static_cast<int>(std::min<std::size_t>(pass->size(), static_cast<std::size_t>(size)));
    std::memcpy(buf, pass->data(), static_cast<std::size_t>(n));
    return n;
}

std::string utc_date(const ASN1_TIME* t) {
    std::time_t when = asn1_to_time(t);
    struct tm tm {};
    gmtime_r(&when, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

struct InfoStackFree {
    void operator()(STACK_OF(X509_INFO) * s) const { sk_X509_INFO_pop_free(s, X509_INFO_free); }
};
using InfoStackPtr = std::unique_ptr<STACK_OF(X509_INFO), InfoStackFree>;

/// loncapaCRL.pem: every CRL in it must be signed by a certificate of the CA file and be
/// current; a file that is present but unusable is an error (never silently ignored: that
/// would let revoked hosts back in).
bool load_crls(const std::filesystem::path& file, const std::string& pem,
               const std::vector<X509Ptr>& cas, std::vector<std::shared_ptr<X509_CRL>>& out,
               std::string& error) {
    BioPtr bio = memory_bio(pem);
    InfoStackPtr infos(bio ? PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    for (int i = 0; infos && i < sk_X509_INFO_num(infos.get()); ++i) {
        X509_INFO* info = sk_X509_INFO_value(infos.get(), i);
        if (info->crl != nullptr) {
            X509_CRL_up_ref(info->crl);
            out.emplace_back(info->crl, X509_CRL_free);
        }
    }
    if (out.empty()) {
        error = file.string() + " holds no CRL (empty, or not PEM); install the CA's " +
                "loncapaCRL.pem (scripts/revoke-host) again, or remove the file";
        return false;
    }
    std::time_t now = std::time(nullptr);
    for (const auto& crl : out) {
        bool signed_by_ca = false;
        for (const auto& ca : cas) {
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.get())) == 0 &&
                X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.get())) == 1) {
                signed_by_ca = true;
                break;
            }
        }
        ERR_clear_error();
        if (!signed_by_ca) {
            error = file.string() + " is not signed by the cluster CA (" +
                    (file.parent_path() / "loncapaCA.pem").string() + "); refusing it";
            return false;
        }
        const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
        if (next != nullptr && X509_cmp_time(next, &now) <= 0) {
            error = file.string() + " expired on " + utc_date(next) +
                    "; install a fresh one (scripts/revoke-host --refresh on the CA)";
            return false;
        }
        if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl.get()), &now) > 0) {
            error = file.string() + " is not valid yet (issued " +
                    utc_date(X509_CRL_get0_lastUpdate(crl.get())) + "; check the clock)";
            return false;
        }
    }
    return true;
}

std::string sha256_hex(const unsigned char* md, unsigned int len) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

/// Common settings of both contexts: TLS 1.2 at least, our chain and key, the cluster CA,
/// and mandatory peer certificates; all from memory.
std::shared_ptr<asio::ssl::context> make_context(asio::ssl::context::method method,
                                                 const Config& cfg, const TlsFiles& files,
                                                 const std::vector<std::shared_ptr<X509_CRL>>& crls,
                                                 std::string& error) {
    auto ctx = std::make_shared<asio::ssl::context>(method);
    SSL_CTX* raw = ctx->native_handle();
    SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
    // A renegotiation mid-link would change who we talk to, and costs the server CPU on
    // demand (CVE-2011-1473): nothing of ours needs one.
    SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION);
    auto dir = cfg.paths.cert_dir;
    ERR_clear_error();
    auto cas = read_certs(files.ca);
    if (cas.empty()) {
        error = (dir / "loncapaCA.pem").string() + " holds no certificate (empty, or not PEM); "
                "install the cluster CA there again (the CA's ca.pem, or run the response "
                "script again)";
        return nullptr;
    }
    X509_STORE* store = SSL_CTX_get_cert_store(raw);
    for (const auto& ca : cas) {
        if (X509_STORE_add_cert(store, ca.get()) != 1) {
            error = "cannot load " + (dir / "loncapaCA.pem").string() + ": " + openssl_errors();
            return nullptr;
        }
    }
    if (!crls.empty()) {
        for (const auto& crl : crls) {
            X509_STORE_add_crl(store, crl.get());
        }
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    auto chain = read_certs(files.cert);
    if (chain.empty()) {
        error = "cannot load " + (dir / "lonhostcert.pem").string() + ": no certificate in it";
        return nullptr;
    }
    if (SSL_CTX_use_certificate(raw, chain.front().get()) != 1) {
        error = "cannot load " + (dir / "lonhostcert.pem").string() + ": " + openssl_errors();
        return nullptr;
    }
    for (std::size_t i = 1; i < chain.size(); ++i) {
        if (SSL_CTX_add1_chain_cert(raw, chain[i].get()) != 1) {
            error = "cannot load " + (dir / "lonhostcert.pem").string() + ": " + openssl_errors();
            return nullptr;
        }
    }
    BioPtr key_bio = memory_bio(files.key);
    std::string pass = files.passphrase;
    PkeyPtr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, passphrase_cb, &pass)
                        : nullptr);
    if (!key) {
        ERR_clear_error();
        error = (dir / "lonhostkey.pem").string() + " holds no private key that can be read" +
                (cfg.tls.key_passphrase_file
                     ? " with the passphrase in tls.key_passphrase_file (wrong passphrase?)"
                     : " (is it encrypted? then set tls.key_passphrase_file)");
        return nullptr;
    }
    if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
        ERR_clear_error();
        error = (dir / "lonhostkey.pem").string() + " does not match the certificate " +
                (dir / "lonhostcert.pem").string() +
                ": the key was made again after the request was signed, or the certificate is "
                "from another request; request and install a new certificate";
        return nullptr;
    }
    if (SSL_CTX_use_PrivateKey(raw, key.get()) != 1 || SSL_CTX_check_private_key(raw) != 1) {
        error = "cannot use " + (dir / "lonhostkey.pem").string() + ": " + openssl_errors();
        return nullptr;
    }
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    return ctx;
}

} // namespace

long TlsCredentials::days_left(std::time_t now) const {
    double secs = std::difftime(not_after, now);
    return static_cast<long>(secs >= 0 ? secs / 86400 : secs / 86400 - 1);
}

bool TlsCredentials::revokes(X509* cert) const {
    for (const auto& crl : crls) {
        X509_REVOKED* entry = nullptr;
        if (X509_CRL_get0_by_cert(crl.get(), &entry, cert) == 1) {
            return true;
        }
    }
    return false;
}

std::string TlsCredentials::unusable_reason(std::time_t now) const {
    if (now >= not_after) {
        return "lonhostcert.pem has expired";
    }
    if (now < not_before) {
        return "lonhostcert.pem is not valid yet";
    }
    return {};
}

TlsFiles read_tls_files(const Config& cfg, std::string& error) {
    TlsFiles out;
    auto dir = cfg.paths.cert_dir;
    auto key = dir / "lonhostkey.pem";
    auto cert = dir / "lonhostcert.pem";
    auto ca = dir / "loncapaCA.pem";
    auto crl = dir / "loncapaCRL.pem";
    std::error_code ec;
    for (const auto& f : {cert, key, ca}) {
        // symlink_status: a dangling link is there (and refused below), not "missing".
        if (!std::filesystem::exists(std::filesystem::symlink_status(f, ec))) {
            out.absent_reason = "no " + f.filename().string() + " in " + dir.string();
            return out;
        }
    }
    auto key_text = read_whole(key, error, true);
    auto ca_text = key_text ? read_whole(ca, error) : std::nullopt;
    auto cert_text = ca_text ? read_whole(cert, error) : std::nullopt;
    if (!cert_text) {
        return out;
    }
    if (std::filesystem::exists(std::filesystem::symlink_status(crl, ec))) {
        auto crl_text = read_whole(crl, error);
        if (!crl_text) {
            return out;
        }
        out.crl = std::move(*crl_text);
    }
    if (cfg.tls.key_passphrase_file) {
        out.passphrase = read_passphrase(*cfg.tls.key_passphrase_file, error);
        if (!error.empty()) {
            return out;
        }
    }
    out.present = true;
    out.ca = std::move(*ca_text);
    out.cert = std::move(*cert_text);
    out.key = std::move(*key_text);
    return out;
}

TlsLoad load_tls_credentials(const Config& cfg, const TlsFiles& files, TlsContexts which) {
    TlsLoad out;
    if (!files.present) {
        out.absent_reason = files.absent_reason;
        return out;
    }
    auto cert = cfg.paths.cert_dir / "lonhostcert.pem";
    auto chain = read_certs(files.cert);
    if (chain.empty()) {
        out.error = cert.string() + " holds no certificate (empty, or not PEM); run the "
                                    "response script from the CA again";
        return out;
    }
    X509* leaf = chain.front().get();
    std::string cn = common_name(leaf);
    if (cn != cfg.host_id) {
        out.error = cert.string() + " is for '" + cn + "', not for this host (" + cfg.host_id + ")";
        return out;
    }
    TlsCredentials c;
    if (!files.crl.empty()) {
        auto crl_file = cfg.paths.cert_dir / "loncapaCRL.pem";
        if (!load_crls(crl_file, files.crl, read_certs(files.ca), c.crls, out.error)) {
            return out;
        }
        if (c.revokes(leaf)) {
            out.error = "our own certificate " + cert.string() + " is revoked by " +
                        crl_file.string() +
                        "; this host may not link (not even insecure) until it has a new "
                        "certificate";
            return out;
        }
    }
    if (which != TlsContexts::client_only) {
        c.server = make_context(asio::ssl::context::tls_server, cfg, files, c.crls, out.error);
        if (!c.server) {
            return out;
        }
    }
    if (which != TlsContexts::server_only) {
        c.client = make_context(asio::ssl::context::tls_client, cfg, files, c.crls, out.error);
        if (!c.client) {
            return out;
        }
    }
    c.subject = cn;
    c.not_before = asn1_to_time(X509_get0_notBefore(leaf));
    c.not_after = asn1_to_time(X509_get0_notAfter(leaf));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(leaf, EVP_sha256(), md, &len);
    c.fingerprint = sha256_hex(md, len);
    for (const auto& crl : c.crls) {
        X509_CRL_digest(crl.get(), EVP_sha256(), md, &len);
        c.fingerprint += ":" + sha256_hex(md, len);
    }
    out.credentials = std::move(c);
    return out;
}

bool peer_revoked(SSL* ssl) {
    return ssl != nullptr && SSL_get_verify_result(ssl) == X509_V_ERR_CERT_REVOKED;
}

bool peer_revoked_by(SSL* ssl, const TlsCredentials& credentials) {
    if (ssl == nullptr || credentials.crls.empty()) {
        return false;
    }
    X509Ptr peer(SSL_get1_peer_certificate(ssl));
    return peer && credentials.revokes(peer.get());
}

std::string check_peer_identity(SSL* ssl, const std::string& expected_id, std::string* subject,
                                std::time_t* not_after) {
    X509Ptr peer(SSL_get1_peer_certificate(ssl));
    if (!peer) {
        return "no peer certificate";
    }
    if (SSL_get_verify_result(ssl) != X509_V_OK) {
        return std::string("certificate verification: ") +
               X509_verify_cert_error_string(SSL_get_verify_result(ssl));
    }
    std::string cn = common_name(peer.get());
    if (subject != nullptr) {
        *subject = cn;
    }
    if (not_after != nullptr) {
        *not_after = asn1_to_time(X509_get0_notAfter(peer.get()));
    }
    if (cn != expected_id) {
        return "peer certificate is for '" + cn + "', expected '" + expected_id + "'";
    }
    if (!has_lonhost_uri(peer.get(), expected_id)) {
        return "peer certificate lacks subjectAltName URI:lonhost:" + expected_id;
    }
    return {};
}

std::string describe_tls_failure(SSL* ssl, const std::error_code& ec) {
    std::string out = ec.message();
    if (ssl != nullptr) {
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK) {
            out += " (certificate: ";
            out += X509_verify_cert_error_string(v);
            out += ")";
        }
    }
    return out;
}

} // namespace lon::link
