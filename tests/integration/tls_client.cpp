#include "tls_client.hpp"

#include <csignal>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <pthread.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "harness.hpp"

namespace it {
namespace {

struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
};

std::string ssl_error() {
    char buf[256] = {};
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

void sh(const std::string& script) {
    auto r = run({"/bin/sh", "-c", script}, 30s);
    if (r.code != 0) {
        throw std::runtime_error("openssl step failed: " + r.output);
    }
}

/// OpenSSL writes with write(2): a server that hung up must not kill the test with SIGPIPE.
/// Blocked in this thread only while the attempt runs, and one raised meanwhile is discarded:
/// the process keeps the default disposition, which the daemons it starts inherit.
class SigpipeBlocked {
  public:
    SigpipeBlocked() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    SigpipeBlocked(const SigpipeBlocked&) = delete;
    SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;
    ~SigpipeBlocked() {
        timespec zero{};
        while (::sigtimedwait(&pipe_, nullptr, &zero) > 0) {
        }
        ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }

  private:
    sigset_t pipe_{};
    sigset_t old_{};
};

} // namespace

std::string tls_attempt(const TlsAttempt& a) {
    SigpipeBlocked no_sigpipe;
    TcpClient t(a.source_ip, a.dest_ip, 5663);
    if (!t.connected()) {
        return "cannot connect";
    }
    t.send("init:1:" + a.client_id + ":" + a.server_id + ":ssl\n" + a.extra_plaintext);
    auto answer = t.read_line();
    if (!answer) {
        return "closed";
    }
    if (*answer != "ok:ssl") {
        return *answer;
    }
    std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_use_certificate_chain_file(ctx.get(), a.cert.c_str());
    SSL_CTX_use_PrivateKey_file(ctx.get(), a.key.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_load_verify_locations(ctx.get(), a.ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), t.fd());
    if (SSL_connect(ssl.get()) != 1) {
        return "handshake failed: " + ssl_error();
    }
    const char ping[] = "1 ping\n";
    if (SSL_write(ssl.get(), ping, sizeof ping - 1) <= 0) {
        return "closed";
    }
    // In TLS 1.3 the server's verdict on our certificate arrives after the handshake: a
    // refused client sees the connection end here instead of a reply.
    std::string line;
    char c = 0;
    while (SSL_read(ssl.get(), &c, 1) == 1) {
        if (c == '\n') {
            return "reply:" + line;
        }
        line.push_back(c);
    }
    return "closed";
}

void make_rogue_ca(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    sh("cd '" + dir.string() +
       "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
       "ca.key -out ca.pem -days 30 -subj '/CN=rogue CA' -addext basicConstraints=critical,CA:TRUE "
       "-addext keyUsage=critical,keyCertSign,cRLSign 2>&1");
}

void forge_certificate(const std::filesystem::path& ca_dir, const std::filesystem::path& dir,
                       const std::string& name, const std::string& cn, const std::string& start,
                       const std::string& end, const std::string& san) {
    std::filesystem::create_directories(dir);
    auto work = dir / (name + ".ca");
    std::filesystem::create_directories(work);
    std::ofstream(work / "index.txt").close();
    std::ofstream(work / "serial") << "1000\n";
    std::ofstream(work / "ca.cnf") << "[ ca ]\ndefault_ca = forge\n[ forge ]\n"
                                   << "database = " << (work / "index.txt").string() << "\n"
                                   << "serial = " << (work / "serial").string() << "\n"
                                   << "new_certs_dir = " << work.string() << "\n"
                                   << "default_md = sha256\npolicy = any\nunique_subject = no\n"
                                   << "copy_extensions = none\nx509_extensions = leaf\n"
                                   << "[ any ]\ncommonName = supplied\n"
                                   << "[ leaf ]\nbasicConstraints = CA:FALSE\n"
                                   << "keyUsage = digitalSignature,keyEncipherment\n"
                                   << "extendedKeyUsage = serverAuth,clientAuth\n"
                                   << "subjectAltName = URI:lonhost:" << (san.empty() ? cn : san)
                                   << "\n";
    std::string d = dir.string();
    std::string w = work.string();
    sh("cd '" + d + "' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '" +
       name + ".key' -out '" + w + "/req.csr' -subj '/CN=" + cn + "' 2>&1 && openssl ca -batch -config '" +
       w + "/ca.cnf' -cert '" + (ca_dir / "ca.pem").string() + "' -keyfile '" +
       (ca_dir / "ca.key").string() + "' -startdate " + start + " -enddate " + end + " -in '" + w +
       "/req.csr' -out '" + name + ".pem' -notext 2>&1");
}

} // namespace it
