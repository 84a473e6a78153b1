#include "tls_stream.hpp"

#include <algorithm>

#include <openssl/err.h>

namespace lon::link {

namespace {

/// The TLS record payload limit: smaller pieces are gathered up to this before SSL_write.
constexpr std::size_t record_size = 16 * 1024;
/// Ciphertext buffer room kept between writes: a few records (an idle link after a large
/// message does not keep 256 KiB).
constexpr std::size_t kept_output = 64 * 1024;

struct BioDeleter {
    void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

} // namespace

TlsStream::TlsStream(SSL_CTX* context) {
    BioPtr in(BIO_new(BIO_s_mem()));
    BioPtr out(BIO_new(BIO_s_mem()));
    ssl_ = SSL_new(context);
    if (ssl_ == nullptr || !in || !out) {
        if (ssl_ != nullptr) {
            SSL_free(ssl_);
        }
        throw std::system_error(std::make_error_code(std::errc::not_enough_memory),
                                "SSL_new");
    }
    // Reads of an empty memory BIO say "retry" (not EOF): the socket's EOF is ours to report.
    BIO_set_mem_eof_return(in.get(), -1);
    BIO_set_mem_eof_return(out.get(), -1);
    in_ = in.release();
    out_ = out.release();
    SSL_set_bio(ssl_, in_, out_); // the SSL object owns both from here
    SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
}

void TlsStream::set_role(bool client) {
    if (client) {
        SSL_set_connect_state(ssl_);
    } else {
        SSL_set_accept_state(ssl_);
    }
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

std::error_code TlsStream::last_error(int ret) {
    int e = SSL_get_error(ssl_, ret);
    if (e == SSL_ERROR_ZERO_RETURN) {
        return asio::error::eof;
    }
    unsigned long err = ERR_get_error();
    ERR_clear_error();
    if (err != 0) {
        // The category asio::ssl::stream used, so messages and comparisons stay the same.
        sticky_ = std::error_code(static_cast<int>(err), asio::error::get_ssl_category());
    } else {
        sticky_ = asio::ssl::error::unexpected_result;
    }
    return sticky_;
}

TlsStream::Result TlsStream::handshake(std::error_code& ec) {
    ec.clear();
    if (sticky_) {
        ec = sticky_;
        return Result::error;
    }
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    if (r == 1) {
        return Result::done;
    }
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) {
        return Result::want_read;
    }
    ec = last_error(r);
    return Result::error;
}

TlsStream::Result TlsStream::read(char* buf, std::size_t size, std::size_t& n,
                                  std::error_code& ec) {
    ec.clear();
    n = 0;
    if (sticky_) {
        ec = sticky_;
        return Result::error;
    }
    while (n < size) {
        std::size_t got = 0;
        ERR_clear_error();
        int r = SSL_read_ex(ssl_, buf + n, size - n, &got);
        if (r == 1) {
            n += got;
            continue;
        }
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_READ) {
            break;
        }
        if (n > 0) {
            break; // the data first; the error comes again at the next read
        }
        ec = last_error(r); // eof after close_notify (not sticky), else a sticky error
        return Result::error;
    }
    return n > 0 ? Result::done : Result::want_read;
}

bool TlsStream::flush_staged(std::error_code& ec) {
    if (staged_.empty()) {
        return true;
    }
    std::size_t done = 0;
    ERR_clear_error();
    if (SSL_write_ex(ssl_, staged_.data(), staged_.size(), &done) != 1) {
        ec = last_error(0);
        staged_.clear();
        return false;
    }
    staged_.clear();
    return true;
}

std::size_t TlsStream::write(std::span<const asio::const_buffer> buffers, std::error_code& ec) {
    ec.clear();
    if (sticky_) {
        ec = sticky_;
        return 0;
    }
    std::size_t taken = 0;
    for (const auto& b : buffers) {
        if (taken >= write_bound) {
            break;
        }
        std::size_t len = std::min(b.size(), write_bound - taken);
        const char* p = static_cast<const char*>(b.data());
        if (len >= record_size) {
            // Large: encrypted in place (OpenSSL cuts it into full records).
            if (!flush_staged(ec)) {
                return 0;
            }
            std::size_t done = 0;
            ERR_clear_error();
            if (SSL_write_ex(ssl_, p, len, &done) != 1) {
                ec = last_error(0);
                return 0;
            }
        } else {
            staged_.append(p, len);
            if (staged_.size() >= record_size && !flush_staged(ec)) {
                return 0;
            }
        }
        taken += len;
    }
    if (!flush_staged(ec)) {
        return 0;
    }
    return taken;
}

char* TlsStream::input() {
    if (!recv_buf_) {
        recv_buf_ = std::make_unique_for_overwrite<char[]>(recv_size);
    }
    return recv_buf_.get();
}

void TlsStream::commit_input(std::size_t n) {
    // A memory BIO takes everything (it grows); n <= recv_size fits an int.
    BIO_write(in_, recv_buf_.get(), static_cast<int>(n));
}

std::error_code TlsStream::end_of_input() const {
    if ((SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0) {
        return asio::error::eof;
    }
    return asio::ssl::error::stream_truncated;
}

std::span<const char> TlsStream::output() {
    std::size_t pending = BIO_ctrl_pending(out_);
    if (pending > 0) {
        if (out_sent_ == cipher_out_.size()) {
            cipher_out_.clear();
            out_sent_ = 0;
        }
        std::size_t at = cipher_out_.size();
        cipher_out_.resize(at + pending);
        int got = BIO_read(out_, cipher_out_.data() + at, static_cast<int>(pending));
        cipher_out_.resize(at + static_cast<std::size_t>(std::max(got, 0)));
    }
    return {cipher_out_.data() + out_sent_, cipher_out_.size() - out_sent_};
}

void TlsStream::consume_output(std::size_t n) {
    out_sent_ += n;
    if (out_sent_ >= cipher_out_.size()) {
        out_sent_ = 0;
        if (cipher_out_.capacity() > kept_output) {
            std::string().swap(cipher_out_); // a large write's room is not kept per link
        } else {
            cipher_out_.clear();
        }
    }
}

} // namespace lon::link
