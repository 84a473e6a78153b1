#include "tls_credentials.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

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

X509Ptr read_first_cert(const std::filesystem::path& file) {
    FILE* f = std::fopen(file.c_str(), "r");
    if (f == nullptr) {
        return nullptr;
    }
    X509Ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    return cert;
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

/// Common settings of both contexts: TLS 1.2 at least, our chain and key, the cluster CA,
/// and mandatory peer certificates.
std::shared_ptr<asio::ssl::context> make_context(asio::ssl::context::method method,
                                                 const Config& cfg, const std::string& pass,
                                                 std::string& error) {
    auto ctx = std::make_shared<asio::ssl::context>(method);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
    ctx->set_password_callback([pass](std::size_t, asio::ssl::context::password_purpose) { return pass; });
    std::error_code ec;
    auto cert_dir = cfg.paths.cert_dir;
    ERR_clear_error();
    ctx->load_verify_file((cert_dir / "loncapaCA.pem").string(), ec);
    if (ec) {
        error = "cannot load " + (cert_dir / "loncapaCA.pem").string() + ": " + openssl_errors();
        return nullptr;
    }
    ctx->use_certificate_chain_file((cert_dir / "lonhostcert.pem").string(), ec);
    if (ec) {
        error = "cannot load " + (cert_dir / "lonhostcert.pem").string() + ": " + openssl_errors();
        return nullptr;
    }
    ctx->use_private_key_file((cert_dir / "lonhostkey.pem").string(), asio::ssl::context::pem,
                              ec);
    if (ec) {
        error = "cannot load " + (cert_dir / "lonhostkey.pem").string() +
                " (wrong passphrase?): " + openssl_errors();
        return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        error = (cert_dir / "lonhostkey.pem").string() + " does not match " +
                (cert_dir / "lonhostcert.pem").string();
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

TlsLoad load_tls_credentials(const Config& cfg) {
    TlsLoad out;
    auto dir = cfg.paths.cert_dir;
    auto key = dir / "lonhostkey.pem";
    auto cert = dir / "lonhostcert.pem";
    auto ca = dir / "loncapaCA.pem";
    std::error_code ec;
    for (const auto& f : {cert, key, ca}) {
        if (!std::filesystem::exists(f, ec)) {
            out.absent_reason = "no " + f.filename().string() + " in " + dir.string();
            return out;
        }
    }
    struct stat st {};
    if (::stat(key.c_str(), &st) != 0) {
        out.error = "cannot stat " + key.string() + ": " + std::strerror(errno);
        return out;
    }
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
        out.error = key.string() + " has mode " + mode +
                    "; refusing to use it (chmod 600 " + key.string() + ")";
        return out;
    }
    X509Ptr leaf = read_first_cert(cert);
    if (!leaf) {
        out.error = "cannot read a certificate from " + cert.string();
        return out;
    }
    std::string cn = common_name(leaf.get());
    if (cn != cfg.host_id) {
        out.error = cert.string() + " is for '" + cn + "', not for this host (" + cfg.host_id + ")";
        return out;
    }
    std::time_t now = std::time(nullptr);
    std::time_t not_after = asn1_to_time(X509_get0_notAfter(leaf.get()));
    if (X509_cmp_time(X509_get0_notAfter(leaf.get()), &now) <= 0) {
        out.absent_reason = cert.string() + " has expired";
        return out;
    }
    if (X509_cmp_time(X509_get0_notBefore(leaf.get()), &now) > 0) {
        out.absent_reason = cert.string() + " is not valid yet";
        return out;
    }
    std::string pass;
    if (cfg.tls.key_passphrase_file) {
        pass = read_passphrase(*cfg.tls.key_passphrase_file, out.error);
        if (!out.error.empty()) {
            return out;
        }
    }
    TlsCredentials c;
    c.server = make_context(asio::ssl::context::tls_server, cfg, pass, out.error);
    if (!c.server) {
        return out;
    }
    c.client = make_context(asio::ssl::context::tls_client, cfg, pass, out.error);
    if (!c.client) {
        return out;
    }
    c.subject = cn;
    c.not_after = not_after;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(leaf.get(), EVP_sha256(), md, &len);
    static const char* hex = "0123456789abcdef";
    for (unsigned i = 0; i < len; ++i) {
        c.fingerprint += hex[md[i] >> 4];
        c.fingerprint += hex[md[i] & 15];
    }
    out.credentials = std::move(c);
    return out;
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
