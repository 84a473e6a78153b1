// link::TlsStream: a client and a server over memory, ciphertext moved by hand (no socket):
// the handshake, gathering small pieces into full records, decrypting every complete record
// per read, and what the end of the ciphertext means.

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls_stream.hpp"

using lon::link::TlsStream;

namespace {

struct Contexts {
    SSL_CTX* server = nullptr;
    SSL_CTX* client = nullptr;
    Contexts() {
        EVP_PKEY* key = EVP_EC_gen("P-256");
        X509* cert = X509_new();
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), 0);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("unit"), -1, -1, 0);
        X509_set_issuer_name(cert, name);
        X509_sign(cert, key, EVP_sha256());
        server = SSL_CTX_new(TLS_server_method());
        SSL_CTX_use_certificate(server, cert);
        SSL_CTX_use_PrivateKey(server, key);
        client = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(client, SSL_VERIFY_NONE, nullptr);
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    ~Contexts() {
        SSL_CTX_free(server);
        SSL_CTX_free(client);
    }
};

/// Moves all of `from`'s pending ciphertext to `to`; returns the bytes moved.
std::size_t pump(TlsStream& from, TlsStream& to) {
    std::size_t moved = 0;
    for (auto out = from.output(); !out.empty(); out = from.output()) {
        std::size_t n = std::min(out.size(), TlsStream::recv_size);
        std::memcpy(to.input(), out.data(), n);
        to.commit_input(n);
        from.consume_output(n);
        moved += n;
    }
    return moved;
}

void handshake(TlsStream& c, TlsStream& s) {
    c.set_role(true);
    s.set_role(false);
    std::error_code ec;
    auto rc = TlsStream::Result::want_read;
    auto rs = TlsStream::Result::want_read;
    for (int i = 0; i < 10 && (rc != TlsStream::Result::done || rs != TlsStream::Result::done); ++i) {
        rc = c.handshake(ec);
        REQUIRE(!ec);
        pump(c, s);
        rs = s.handshake(ec);
        REQUIRE(!ec);
        pump(s, c);
    }
    REQUIRE(rc == TlsStream::Result::done);
    REQUIRE(rs == TlsStream::Result::done);
}

} // namespace

TEST_CASE("small pieces of one write become one record; a read decrypts every complete "
          "record up to its buffer", "[tls_stream]") {
    Contexts ctx;
    TlsStream c(ctx.client);
    TlsStream s(ctx.server);
    handshake(c, s);

    std::vector<std::string> pieces(500, std::string("0123456789"));
    std::vector<asio::const_buffer> bufs;
    for (auto& p : pieces) {
        bufs.push_back(asio::buffer(p));
    }
    std::error_code ec;
    CHECK(c.write(bufs, ec) == 5000);
    CHECK(!ec);
    std::size_t cipher = pump(c, s);
    CHECK(cipher < 5000 + 64); // one record's overhead, not 500 of them

    std::vector<char> buf(64 * 1024);
    std::size_t n = 0;
    CHECK(s.read(buf.data(), buf.size(), n, ec) == TlsStream::Result::done);
    CHECK(n == 5000);

    // 200 KiB in one call (under write_bound): all taken; reads fill the caller's buffer.
    std::string big(200 * 1024, 'b');
    asio::const_buffer one = asio::buffer(big);
    CHECK(c.write(std::span(&one, 1), ec) == big.size());
    pump(c, s);
    std::size_t total = 0;
    int reads = 0;
    while (s.read(buf.data(), buf.size(), n, ec) == TlsStream::Result::done) {
        total += n;
        ++reads;
    }
    CHECK(total == big.size());
    CHECK(reads == 4); // 64 + 64 + 64 + 8 KiB

    // More than write_bound: the rest is for the next call.
    std::string huge(TlsStream::write_bound + 1000, 'h');
    one = asio::buffer(huge);
    CHECK(c.write(std::span(&one, 1), ec) == TlsStream::write_bound);
}

TEST_CASE("ciphertext not yet read when more arrives is kept, in order", "[tls_stream]") {
    // A read that fills the caller's buffer leaves records in the stream's input; the next
    // input() must keep them ahead of what is received then (moved to the front, or grown).
    Contexts ctx;
    TlsStream c(ctx.client);
    TlsStream s(ctx.server);
    handshake(c, s);
    std::error_code ec;
    std::string sent;
    auto send = [&](char fill, std::size_t size) {
        std::string m(size, fill);
        for (std::size_t i = 0; i < m.size(); i += 997) {
            m[i] = static_cast<char>('A' + (i / 997) % 26); // not one repeated byte
        }
        asio::const_buffer one = asio::buffer(m);
        REQUIRE(c.write(std::span(&one, 1), ec) == m.size());
        sent += m;
    };
    std::string got;
    std::vector<char> small(5000);
    std::size_t n = 0;
    send('x', 40 * 1024);
    pump(c, s);
    REQUIRE(s.read(small.data(), small.size(), n, ec) == TlsStream::Result::done);
    got.append(small.data(), n);
    send('y', 30 * 1024); // arrives behind the unread records
    pump(c, s);
    REQUIRE(s.read(small.data(), small.size(), n, ec) == TlsStream::Result::done);
    got.append(small.data(), n);
    send('z', 150 * 1024); // more than the input's room: it grows, keeping the rest
    pump(c, s);
    std::vector<char> buf(64 * 1024);
    while (s.read(buf.data(), buf.size(), n, ec) == TlsStream::Result::done) {
        got.append(buf.data(), n);
    }
    CHECK(!ec);
    CHECK(got.size() == sent.size());
    CHECK(got == sent);
}

TEST_CASE("the end of the ciphertext is eof after close_notify, else stream_truncated",
          "[tls_stream]") {
    Contexts ctx;
    TlsStream c(ctx.client);
    TlsStream s(ctx.server);
    handshake(c, s);
    CHECK(s.end_of_input() == asio::ssl::error::stream_truncated);
    SSL_shutdown(c.ssl());
    pump(c, s);
    std::vector<char> buf(1024);
    std::size_t n = 0;
    std::error_code ec;
    CHECK(s.read(buf.data(), buf.size(), n, ec) == TlsStream::Result::error);
    CHECK(ec == asio::error::eof);
    CHECK(s.end_of_input() == asio::error::eof);
}

TEST_CASE("a corrupted record is an error in OpenSSL's category, and stays one",
          "[tls_stream]") {
    Contexts ctx;
    TlsStream c(ctx.client);
    TlsStream s(ctx.server);
    handshake(c, s);
    std::string msg(100, 'x');
    asio::const_buffer one = asio::buffer(msg);
    std::error_code ec;
    c.write(std::span(&one, 1), ec);
    auto out = c.output();
    std::string bad(out.data(), out.size());
    bad[bad.size() - 3] ^= 1;
    std::memcpy(s.input(), bad.data(), bad.size());
    s.commit_input(bad.size());
    std::vector<char> buf(1024);
    std::size_t n = 0;
    CHECK(s.read(buf.data(), buf.size(), n, ec) == TlsStream::Result::error);
    CHECK(ec.category() == asio::error::get_ssl_category());
    CHECK(s.read(buf.data(), buf.size(), n, ec) == TlsStream::Result::error);
}
