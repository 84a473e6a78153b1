#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <openssl/ssl.h>

namespace lon::link {

/// One TLS connection's OpenSSL state, driven over buffers of its own (no socket BIO, no
/// asio::ssl::stream). Why: asio::ssl::stream moves at most one TLS record (16 KiB) per
/// socket read or write and adds a handler round per step; here a write encrypts everything
/// it is offered (up to `write_bound` plaintext bytes) into one ciphertext buffer sent with
/// one send, and a read takes up to `recv_size` ciphertext bytes per recv and decrypts every
/// complete record into the caller's buffer.
///
/// Pure with respect to the socket: the caller moves ciphertext in (input(), commit_input())
/// and out (output(), consume_output()); Transport does the socket side. OpenSSL reads and
/// writes the ciphertext through a BIO of our own straight from and into these buffers:
/// memory BIOs between them cost two more copies of every byte each way, and a zero-fill
/// (bench/README "Ciphertext without memory BIOs").
class TlsStream {
public:
    enum class Result { done, want_read, error };

    /// Plaintext bytes encrypted per write call at most (the ciphertext buffer's bound).
    static constexpr std::size_t write_bound = 256 * 1024;
    /// Ciphertext bytes asked for per recv.
    static constexpr std::size_t recv_size = 64 * 1024;

    /// A TLS connection with `context`'s settings; throws std::system_error if OpenSSL
    /// cannot allocate it.
    explicit TlsStream(SSL_CTX* context);
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;
    ~TlsStream();

    [[nodiscard]] SSL* ssl() { return ssl_; }
    /// Which side this is (before the handshake): the client sends the first message.
    void set_role(bool client);

    /// A wait for the socket to take the ciphertext a read produced is under way.
    bool flush_waiting = false;

    /// One handshake step with the ciphertext received so far.
    Result handshake(std::error_code& ec);
    /// Decrypts into `buf` until it is full or no complete record is left; `n` bytes.
    /// done: n > 0; want_read: nothing decrypted yet; error: `ec` (eof after close_notify).
    Result read(char* buf, std::size_t size, std::size_t& n, std::error_code& ec);
    /// Encrypts up to write_bound bytes of `buffers` (small pieces gathered into full
    /// records); returns the plaintext bytes taken, or 0 and `ec`.
    std::size_t write(std::span<const asio::const_buffer> buffers, std::error_code& ec);

    /// Room for the next recv (recv_size bytes).
    [[nodiscard]] char* input();
    /// `n` ciphertext bytes were received into input().
    void commit_input(std::size_t n);
    /// The error that the end of the ciphertext stream means now: eof after the peer's
    /// close_notify, else stream_truncated (both are is_end_of_stream).
    [[nodiscard]] std::error_code end_of_input() const;

    /// Ciphertext waiting to be sent (what OpenSSL produced, moved out of its BIO).
    [[nodiscard]] std::span<const char> output();
    /// `n` bytes of output() were sent.
    void consume_output(std::size_t n);

private:
    std::error_code last_error(int ret);
    bool flush_staged(std::error_code& ec);

    friend struct CipherBio; // the BIO callbacks move ciphertext in and out of the buffers

    SSL* ssl_ = nullptr; ///< owns both BIOs (SSL_set_bio); they point back at this object
    /// Ciphertext received and not yet read by OpenSSL: [in_begin_, in_end_) of in_buf_
    /// (in_cap_ bytes, allocated at the first recv, not zeroed).
    std::unique_ptr<char[]> in_buf_;
    std::size_t in_cap_ = 0;
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    std::string cipher_out_;   ///< ciphertext to send; [out_sent_, size) not sent yet
    std::size_t out_sent_ = 0;
    std::string staged_;       ///< small plaintext pieces gathered into one record
    std::error_code sticky_;   ///< a fatal error stays the answer
};

} // namespace lon::link
