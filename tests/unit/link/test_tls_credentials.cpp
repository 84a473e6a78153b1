// link::load_tls_credentials for a child: only the context its role uses is built (a lonc
// child connects, a lond child accepts; the other context cost each child about 1.3 ms of
// CPU), and every check a parent makes still refuses a bad set with one context.

#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tls_credentials.hpp"

using lon::link::TlsContexts;

namespace {

struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
    void operator()(X509* c) const { X509_free(c); }
};
struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};

std::string pem_of(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string key_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    return pem_of(bio.get());
}

/// A self-signed certificate for `cn` (it is its own CA), with the lonhost URI.
std::string cert_pem(EVP_PKEY* key, const char* cn) {
    std::unique_ptr<X509, CertFree> cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509_sign(cert.get(), key, EVP_sha256());
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert.get());
    return pem_of(bio.get());
}

lon::TlsFiles files_for(EVP_PKEY* cert_key, EVP_PKEY* key, const char* cn) {
    lon::TlsFiles f;
    f.present = true;
    f.cert = cert_pem(cert_key, cn);
    f.ca = f.cert;
    f.key = key_pem(key);
    return f;
}

} // namespace

TEST_CASE("a child's credentials hold only the context its role uses", "[tls_credentials]") {
    std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_EC_gen("P-256"));
    lon::Config cfg;
    cfg.host_id = "h1";
    auto files = files_for(key.get(), key.get(), "h1");

    auto both = lon::link::load_tls_credentials(cfg, files, TlsContexts::both);
    REQUIRE(both.error.empty());
    REQUIRE(both.credentials);
    CHECK(both.credentials->server);
    CHECK(both.credentials->client);

    auto lonc = lon::link::load_tls_credentials(cfg, files, TlsContexts::client_only);
    REQUIRE(lonc.error.empty());
    REQUIRE(lonc.credentials);
    CHECK(lonc.credentials->client);
    CHECK_FALSE(lonc.credentials->server);
    CHECK(lonc.credentials->fingerprint == both.credentials->fingerprint);

    auto lond = lon::link::load_tls_credentials(cfg, files, TlsContexts::server_only);
    REQUIRE(lond.error.empty());
    REQUIRE(lond.credentials);
    CHECK(lond.credentials->server);
    CHECK_FALSE(lond.credentials->client);
}

TEST_CASE("a child's one context is built with every check", "[tls_credentials]") {
    std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_EC_gen("P-256"));
    std::unique_ptr<EVP_PKEY, KeyFree> other(EVP_EC_gen("P-256"));
    lon::Config cfg;
    cfg.host_id = "h1";
    for (TlsContexts which : {TlsContexts::client_only, TlsContexts::server_only}) {
        // A key that does not match the certificate.
        auto mismatch = lon::link::load_tls_credentials(
            cfg, files_for(key.get(), other.get(), "h1"), which);
        CHECK_THAT(mismatch.error, Catch::Contains("does not match"));
        CHECK_FALSE(mismatch.credentials);
        // A certificate for another host.
        auto wrong_host =
            lon::link::load_tls_credentials(cfg, files_for(key.get(), key.get(), "h2"), which);
        CHECK_THAT(wrong_host.error, Catch::Contains("not for this host"));
        CHECK_FALSE(wrong_host.credentials);
        // A CA file that is no certificate.
        auto files = files_for(key.get(), key.get(), "h1");
        files.ca = "garbage";
        auto no_ca = lon::link::load_tls_credentials(cfg, files, which);
        CHECK_THAT(no_ca.error, Catch::Contains("holds no certificate"));
        CHECK_FALSE(no_ca.credentials);
    }
}
