// lonc refuses TLS renegotiation (SSL_OP_NO_RENEGOTIATION): a server that asks for one
// mid-link (HelloRequest, TLS 1.2) does not get it. (lond's side: OpenSSL 3 servers already
// refuse client-initiated renegotiation by default; the option keeps it so.)

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.hpp"

using namespace it;

namespace {

/// A lond stand-in speaking TLS 1.2 as host `id` with that host's certificate: answers the
/// init with ok:ssl, the first request with `id`, then asks for a renegotiation and reports
/// what became of it: "renegotiated", "refused: <reason>" or "no link".
std::string renegotiating_server(const Cluster& c, int i, std::chrono::milliseconds until) {
    auto deadline = std::chrono::steady_clock::now() + until;
    auto left = [&] {
        return static_cast<int>(std::max<long>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(
                   deadline - std::chrono::steady_clock::now())
                   .count()));
    };
    lon::UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(lon_port);
    ::inet_pton(AF_INET, c.address(i).c_str(), &sa.sin_addr);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(listener.get(), 4) != 0) {
        return "no link (bind)";
    }
    pollfd p{listener.get(), POLLIN, 0};
    if (::poll(&p, 1, left()) != 1) {
        return "no link (no connection)";
    }
    lon::UniqueFd conn(::accept(listener.get(), nullptr, nullptr));
    // The init line, byte by byte (nothing after it may be consumed before TLS).
    std::string init;
    char ch = 0;
    while (init.size() < 1024) {
        pollfd q{conn.get(), POLLIN, 0};
        if (::poll(&q, 1, left()) != 1 || ::read(conn.get(), &ch, 1) != 1) {
            return "no link (no init)";
        }
        if (ch == '\n') {
            break;
        }
        init += ch;
    }
    (void)!::write(conn.get(), "ok:ssl\n", 7);

    auto certs = c.dir(i) / "certs";
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION); // renegotiation exists up to 1.2
    SSL_CTX_set_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
    SSL_CTX_use_certificate_chain_file(ctx, (certs / "lonhostcert.pem").c_str());
    SSL_CTX_use_PrivateKey_file(ctx, (certs / "lonhostkey.pem").c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_load_verify_locations(ctx, (certs / "loncapaCA.pem").c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, conn.get());
    std::string outcome = "no link (handshake)";
    // Blocking socket: bounded by SO_RCVTIMEO.
    timeval tv{std::max(1, left() / 1000), 0};
    ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (SSL_accept(ssl) == 1) {
        // The first request line: "<tag> <request>".
        std::string line;
        char buf[256];
        while (line.find('\n') == std::string::npos && left() > 0) {
            int n = SSL_read(ssl, buf, sizeof buf);
            if (n <= 0) {
                break;
            }
            line.append(buf, static_cast<std::size_t>(n));
        }
        std::string reply = line.substr(0, line.find(' ')) + " " + c.id(i) + "\n";
        SSL_write(ssl, reply.data(), static_cast<int>(reply.size()));
        outcome = "no answer to the renegotiation request";
        if (SSL_renegotiate(ssl) == 1 && SSL_do_handshake(ssl) == 1) {
            while (left() > 0) {
                ERR_clear_error();
                int n = SSL_read(ssl, buf, sizeof buf);
                if (SSL_renegotiate_pending(ssl) == 0) {
                    outcome = "renegotiated";
                    break;
                }
                if (n <= 0) {
                    int err = SSL_get_error(ssl, n);
                    if (err != SSL_ERROR_WANT_READ) {
                        char e[256] = "closed";
                        if (unsigned long code = ERR_peek_error()) {
                            ERR_error_string_n(code, e, sizeof e);
                        }
                        outcome = std::string("refused: ") + e;
                        break;
                    }
                }
            }
        }
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return outcome;
}

} // namespace

TEST_CASE("tls: lonc refuses a renegotiation asked for by the server",
          "[integration][tls_renegotiation]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    c.issue_certificate(1);
    c.start_lonc(0); // host 1 is played by renegotiating_server
    std::string outcome;
    std::thread server([&] { outcome = renegotiating_server(c, 1, 10s); });
    CHECK(c.request(0, 1, "ping", 8s) == c.id(1));
    server.join();
    INFO("server: " << outcome);
    CHECK(outcome.rfind("refused", 0) == 0);
}
