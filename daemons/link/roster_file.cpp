#include "roster_file.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/pem.h> // before cms.h, which declares PEM_read_bio_CMS only after it
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unique_fd.hpp"

namespace lon::link {
namespace {

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct CmsFree {
    void operator()(CMS_ContentInfo* c) const { CMS_ContentInfo_free(c); }
};
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;
struct X509StackFree {
    void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

/// PEM and base64 around the text, the signer certificate and the signature.
constexpr std::size_t max_file_bytes = proto::max_roster_bytes * 2 + 64 * 1024;

std::string openssl_reason() {
    unsigned long e = ERR_peek_last_error();
    std::string out = e != 0 ? ERR_reason_error_string(e) != nullptr ? ERR_reason_error_string(e)
                                                                      : "OpenSSL error"
                             : "unknown OpenSSL error";
    ERR_clear_error();
    return out;
}

/// Reads a whole regular file, not through a symlink; "" + error on failure.
bool read_no_follow(const std::filesystem::path& file, std::string& out, std::string& error,
                    bool& absent) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) {
        if (errno == ENOENT) {
            absent = true;
        } else if (errno == ELOOP) {
            error = "is a symbolic link; refusing to follow it";
        } else {
            error = std::string("cannot open: ") + std::strerror(errno);
        }
        return false;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        error = "is not a regular file";
        return false;
    }
    if (static_cast<std::size_t>(st.st_size) > max_file_bytes) {
        error = "is larger than " + std::to_string(max_file_bytes) + " bytes";
        return false;
    }
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < out.size()) {
        ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            error = n < 0 ? std::string("cannot read: ") + std::strerror(errno)
                          : std::string("changed while being read");
            return false;
        }
        got += static_cast<std::size_t>(n);
    }
    return true;
}

X509StackPtr read_ca_certs(const std::filesystem::path& file) {
    X509StackPtr certs(sk_X509_new_null());
    BioPtr in(BIO_new_file(file.c_str(), "r"));
    if (!certs || !in) {
        return nullptr;
    }
    while (X509* cert = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) {
        if (sk_X509_push(certs.get(), cert) <= 0) {
            X509_free(cert);
            return nullptr;
        }
    }
    ERR_clear_error(); // the end of the file reads as a PEM "no start line" error
    return sk_X509_num(certs.get()) > 0 ? std::move(certs) : nullptr;
}

} // namespace

RosterLoad load_roster(const std::filesystem::path& cert_dir) {
    RosterLoad out;
    const auto file = cert_dir / roster_file_name;
    const auto ca_file = cert_dir / "loncapaCA.pem";
    auto fail = [&](const std::string& why) {
        out.error = file.string() + " " + why;
        return out;
    };
    std::string pem;
    std::string error;
    if (!read_no_follow(file, pem, error, out.absent)) {
        return out.absent ? out : fail(error);
    }
    X509StackPtr ca = read_ca_certs(ca_file);
    if (!ca) {
        return fail("cannot be checked: no certificate readable in " + ca_file.string());
    }
    ERR_clear_error();
    BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    CmsPtr cms(in ? PEM_read_bio_CMS(in.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cms) {
        return fail("is not a PEM CMS message (" + openssl_reason() + ")");
    }
    if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed ||
        OBJ_obj2nid(CMS_get0_eContentType(cms.get())) != NID_pkcs7_data) {
        return fail("is not CMS signed data");
    }
    // The signer's certificate must be one of loncapaCA.pem's own (CMS_NOINTERN): only a
    // holder of a cluster CA key can sign a roster. Its chain needs no check (it is a trust
    // anchor here), and a CA certificate carries no S/MIME key usage, hence
    // CMS_NO_SIGNER_CERT_VERIFY.
    BioPtr text(BIO_new(BIO_s_mem()));
    if (!text || CMS_verify(cms.get(), ca.get(), nullptr, nullptr, text.get(),
                            CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
        return fail("is not signed by the cluster CA in " + ca_file.string() + " (" +
                    openssl_reason() + ")");
    }
    std::string content(BIO_ctrl_pending(text.get()), '\0');
    if (!content.empty() &&
        BIO_read(text.get(), content.data(), static_cast<int>(content.size())) !=
            static_cast<int>(content.size())) {
        return fail("cannot be read back after verification");
    }
    auto parsed = proto::parse_roster(content);
    if (!parsed.roster) {
        return fail("is signed but not a valid roster: " + parsed.error);
    }
    out.roster = std::move(parsed.roster);
    return out;
}

void RosterKeeper::reload(const std::filesystem::path& cert_dir) {
    RosterLoad loaded = load_roster(cert_dir);
    if (!loaded.error.empty()) {
        error_ = loaded.error;
        spdlog::error("CA roster unusable{}: {}", roster_ ? ", keeping the previous one" : "",
                      loaded.error);
        return;
    }
    error_.clear();
    if (loaded.absent) {
        if (roster_) {
            spdlog::warn("{} is gone; keeping the roster loaded before (serial {})",
                         (cert_dir / roster_file_name).string(), roster_->serial);
        } else {
            spdlog::debug("no {}: peers not pinned are trust-on-first-use", roster_file_name);
        }
        return;
    }
    if (roster_ && !proto::replaces(*loaded.roster, *roster_)) {
        error_ = (cert_dir / roster_file_name).string() + " has serial " +
                 std::to_string(loaded.roster->serial) + ", older than the one in use (" +
                 std::to_string(roster_->serial) + ")";
        spdlog::error("CA roster not replaced: {}", error_);
        return;
    }
    if (!roster_ || roster_->serial != loaded.roster->serial) {
        spdlog::info("CA roster serial {} issued {}: {} host(s) hold a certificate",
                     loaded.roster->serial, loaded.roster->issued, loaded.roster->hosts.size());
    }
    roster_ = std::move(loaded.roster);
}

bool RosterKeeper::lists(const std::string& peer, std::time_t now) const {
    return roster_ && roster_->lists(peer, now);
}

} // namespace lon::link
