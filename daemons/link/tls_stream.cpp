#include "tls_stream.hpp"

#include <algorithm>
#include <cstring>
#include <new>

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

struct BioMethodDeleter {
    void operator()(BIO_METHOD* m) const { BIO_meth_free(m); }
};

} // namespace

/// The BIO OpenSSL reads ciphertext from and writes it to: TlsStream's own buffers. A read
/// with nothing buffered says "retry" (not EOF): the socket's EOF is the caller's to report.
struct CipherBio {
    static TlsStream& of(BIO* b) { return *static_cast<TlsStream*>(BIO_get_data(b)); }

    static int write(BIO* b, const char* data, std::size_t len, std::size_t* written) {
        BIO_clear_retry_flags(b);
        try {
            of(b).cipher_out_.append(data, len);
        } catch (const std::bad_alloc&) {
            return 0; // no exception through OpenSSL's C frames: the write fails instead
        }
        *written = len;
        return 1;
    }

    static int read(BIO* b, char* out, std::size_t len, std::size_t* got) {
        BIO_clear_retry_flags(b);
        TlsStream& t = of(b);
        std::size_t n = std::min(len, t.in_end_ - t.in_begin_);
        if (n == 0) {
            BIO_set_retry_read(b);
            *got = 0;
            return 0;
        }
        std::memcpy(out, t.in_buf_.get() + t.in_begin_, n);
        t.in_begin_ += n;
        if (t.in_begin_ == t.in_end_) {
            t.in_begin_ = t.in_end_ = 0;
        }
        *got = n;
        return 1;
    }

    static long ctrl(BIO* /*b*/, int cmd, long /*num*/, void* /*ptr*/) {
        // OpenSSL flushes after handshake messages (a failed flush would stall it); nothing
        // else (pending counts, kTLS, duplication) applies to these buffers.
        return cmd == BIO_CTRL_FLUSH ? 1 : 0;
    }

    static const BIO_METHOD* method() {
        static const std::unique_ptr<BIO_METHOD, BioMethodDeleter> m = [] {
            BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                          "lonlink ciphertext");
            if (bm != nullptr) {
                BIO_meth_set_write_ex(bm, write);
                BIO_meth_set_read_ex(bm, read);
                BIO_meth_set_ctrl(bm, ctrl);
            }
            return std::unique_ptr<BIO_METHOD, BioMethodDeleter>(bm);
        }();
        return m.get();
    }

    static BioPtr make(TlsStream& t) {
        const BIO_METHOD* m = method();
        BioPtr b(m != nullptr ? BIO_new(m) : nullptr);
        if (b) {
            BIO_set_data(b.get(), &t);
            BIO_set_init(b.get(), 1);
        }
        return b;
    }
};

TlsStream::TlsStream(SSL_CTX* context) {
    BioPtr in = CipherBio::make(*this);
    BioPtr out = CipherBio::make(*this);
    ssl_ = SSL_new(context);
    if (ssl_ == nullptr || !in || !out) {
        if (ssl_ != nullptr) {
            SSL_free(ssl_);
        }
        throw std::system_error(std::make_error_code(std::errc::not_enough_memory),
                                "SSL_new");
    }
    SSL_set_bio(ssl_, in.release(), out.release()); // the SSL object owns both from here
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
            // Room for the records at once (a few dozen bytes of framing each): the buffer
            // does not regrow, copying what it holds, while OpenSSL writes them one by one.
            cipher_out_.reserve(cipher_out_.size() + len + (len / record_size + 1) * 64);
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
    // OpenSSL reads everything buffered before a read asks for more (Transport receives only
    // after want_read), so this is empty here in practice; a rest is kept, never lost.
    if (in_begin_ > 0) {
        std::memmove(in_buf_.get(), in_buf_.get() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
    }
    if (in_cap_ - in_end_ < recv_size) {
        std::size_t cap = in_end_ + recv_size;
        auto grown = std::make_unique_for_overwrite<char[]>(cap);
        if (in_end_ > 0) {
            std::memcpy(grown.get(), in_buf_.get(), in_end_);
        }
        in_buf_ = std::move(grown);
        in_cap_ = cap;
    }
    return in_buf_.get() + in_end_;
}

void TlsStream::commit_input(std::size_t n) { in_end_ += n; }

std::error_code TlsStream::end_of_input() const {
    if ((SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0) {
        return asio::error::eof;
    }
    return asio::ssl::error::stream_truncated;
}

std::span<const char> TlsStream::output() {
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
