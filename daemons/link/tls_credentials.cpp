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

/// The whole of `file`, or nullopt with `error` set.
std::optional<std::string> read_whole(const std::filesystem::path& file, std::string& error) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        error = "cannot read " + file.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
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
    int n = static_cast<int>(std::min<std::size_t>(pass->size(), static_cast<std::size_t>(size)));
    std::memcpy(buf, pass->data(), static_cast<std::size_t>(n));
    return n;
}

/// Common settings of both contexts: TLS 1.2 at least, our chain and key, the cluster CA,
/// and mandatory peer certificates; all from memory.
std::shared_ptr<asio::ssl::context> make_context(asio::ssl::context::method method,
                                                 const Config& cfg, const TlsFiles& files,
                                                 std::string& error) {
    auto ctx = std::make_shared<asio::ssl::context>(method);
    SSL_CTX* raw = ctx->native_handle();
    SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
    auto dir = cfg.paths.cert_dir;
    ERR_clear_error();
    auto cas = read_certs(files.ca);
    if (cas.empty()) {
        error = "cannot load " + (dir / "loncapaCA.pem").string() + ": no certificate in it";
        return nullptr;
    }
    X509_STORE* store = SSL_CTX_get_cert_store(raw);
    for (const auto& ca : cas) {
        if (X509_STORE_add_cert(store, ca.get()) != 1) {
            error = "cannot load " + (dir / "loncapaCA.pem").string() + ": " + openssl_errors();
            return nullptr;
        }
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
    if (!key || SSL_CTX_use_PrivateKey(raw, key.get()) != 1) {
        error = "cannot load " + (dir / "lonhostkey.pem").string() +
                " (wrong passphrase?): " + openssl_errors();
        return nullptr;
    }
    if (SSL_CTX_check_private_key(raw) != 1) {
        error = (dir / "lonhostkey.pem").string() + " does not match " +
                (dir / "lonhostcert.pem").string();
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
    std::error_code ec;
    for (const auto& f : {cert, key, ca}) {
        if (!std::filesystem::exists(f, ec)) {
            out.absent_reason = "no " + f.filename().string() + " in " + dir.string();
            return out;
        }
    }
    struct stat st {};
    if (::stat(key.c_str(), &st) != 0) {
        error = "cannot stat " + key.string() + ": " + std::strerror(errno);
        return out;
    }
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
        error = key.string() + " has mode " + mode + "; refusing to use it (chmod 600 " +
                key.string() + ")";
        return out;
    }
    auto ca_text = read_whole(ca, error);
    auto cert_text = ca_text ? read_whole(cert, error) : std::nullopt;
    auto key_text = cert_text ? read_whole(key, error) : std::nullopt;
    if (!key_text) {
        return out;
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

TlsLoad load_tls_credentials(const Config& cfg, const TlsFiles& files) {
    TlsLoad out;
    if (!files.present) {
        out.absent_reason = files.absent_reason;
        return out;
    }
    auto cert = cfg.paths.cert_dir / "lonhostcert.pem";
    auto chain = read_certs(files.cert);
    if (chain.empty()) {
        out.error = "cannot read a certificate from " + cert.string();
        return out;
    }
    X509* leaf = chain.front().get();
    std::string cn = common_name(leaf);
    if (cn != cfg.host_id) {
        out.error = cert.string() + " is for '" + cn + "', not for this host (" + cfg.host_id + ")";
        return out;
    }
    TlsCredentials c;
    c.server = make_context(asio::ssl::context::tls_server, cfg, files, out.error);
    if (!c.server) {
        return out;
    }
    c.client = make_context(asio::ssl::context::tls_client, cfg, files, out.error);
    if (!c.client) {
        return out;
    }
    c.subject = cn;
    c.not_before = asn1_to_time(X509_get0_notBefore(leaf));
    c.not_after = asn1_to_time(X509_get0_notAfter(leaf));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(leaf, EVP_sha256(), md, &len);
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
