#pragma once

#include <memory>
#include <span>
#include <system_error>
#include <utility>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "net.hpp"
#include "tls_stream.hpp"

namespace lon::link {

/// One TCP connection that starts in plaintext (for the init line and its answer) and may be
/// upgraded in place to TLS after "ok:ssl". Reads and writes go to whichever layer is active,
/// so LineSession works the same over both.
///
/// TLS runs over TlsStream's own ciphertext buffers: a write encrypts all it is offered (up to
/// TlsStream::write_bound bytes) and sends the ciphertext with one non-blocking send; a read
/// receives up to TlsStream::recv_size ciphertext bytes and decrypts every complete record.
/// Ciphertext that reading produces (TLS 1.3 session tickets, KeyUpdate answers) goes out
/// through the same writer as the data. One read and one write may be outstanding at once.
///
/// A peer that closes a TLS connection without close_notify (asio::ssl::error::
/// stream_truncated) is treated like a plain EOF: the protocol is line-based, a partial line
/// is never delivered, so truncation cannot be mistaken for data.
class Transport final {
public:
    using executor_type = asio::ip::tcp::socket::executor_type;
    static constexpr auto wait_write = asio::socket_base::wait_write;

    explicit Transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
    explicit Transport(asio::io_context& io) : socket_(io) {}
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    [[nodiscard]] executor_type get_executor() { return socket_.get_executor(); }
    [[nodiscard]] asio::ip::tcp::socket& tcp() { return socket_; }
    [[nodiscard]] bool tls() const { return tls_ != nullptr; }
    /// The OpenSSL connection (nullptr before begin_tls).
    [[nodiscard]] SSL* ssl() { return tls_ ? tls_->ssl() : nullptr; }

    /// Wraps the connection in TLS with `context` (no I/O yet). The context is kept alive
    /// for as long as this connection uses it, whatever a reload does to the caller's copy.
    void begin_tls(std::shared_ptr<asio::ssl::context> context) {
        context_ = std::move(context);
        tls_ = std::make_shared<TlsStream>(context_->native_handle());
    }

    /// Runs the handshake as `type` (client: lonc); `handler(ec)`, never called from here.
    template <class Handler>
    void async_handshake(asio::ssl::stream_base::handshake_type type, Handler&& handler) {
        tls_->set_role(type == asio::ssl::stream_base::client);
        HandshakeOp<std::decay_t<Handler>> op{tls_, &socket_, std::forward<Handler>(handler)};
        op.step(true);
    }

    template <class Buffers, class Handler>
    void async_read_some(const Buffers& buffers, Handler&& handler) {
        if (!tls_) {
            socket_.async_read_some(buffers, std::forward<Handler>(handler));
            return;
        }
        asio::mutable_buffer b = *asio::buffer_sequence_begin(buffers);
        ReadOp<std::decay_t<Handler>> op{tls_, &socket_, b, std::forward<Handler>(handler)};
        op.start();
    }

    /// Hands what the kernel takes at once to it, without blocking and without a posted
    /// completion; returns the bytes of `buffers` taken. Under TLS the plaintext taken is
    /// encrypted; while any of its ciphertext is still unsent, `ec` is would_block (wait
    /// for wait_write and call again, with what is left: the ciphertext goes first).
    std::size_t try_write_some(std::span<const asio::const_buffer> buffers, std::error_code& ec) {
        if (!ensure_non_blocking(socket_, ec)) {
            return 0;
        }
        if (!tls_) {
            return socket_.write_some(buffers, ec);
        }
        ec.clear();
        if (!send_ciphertext(tls_, socket_, ec)) {
            return 0;
        }
        std::size_t taken = buffers.empty() ? 0 : tls_->write(buffers, ec);
        if (ec) {
            return 0;
        }
        send_ciphertext(tls_, socket_, ec);
        return taken;
    }

    /// Waits until the socket is ready (for the rest of a write try_write_some began).
    template <class Handler>
    void async_wait(asio::socket_base::wait_type what, Handler&& handler) {
        socket_.async_wait(what, std::forward<Handler>(handler));
    }

    void close(std::error_code& ec) { socket_.close(ec); }

private:
    /// Sends the pending ciphertext without blocking; false with `ec` (would_block when the
    /// kernel did not take all of it).
    static bool send_ciphertext(const std::shared_ptr<TlsStream>& tls, asio::ip::tcp::socket& s,
                                std::error_code& ec) {
        for (;;) {
            auto out = tls->output();
            if (out.empty()) {
                return true;
            }
            std::size_t n = s.send(asio::buffer(out.data(), out.size()), 0, ec);
            tls->consume_output(n);
            if (ec) {
                return false;
            }
        }
    }

    /// Ciphertext that a read or handshake step produced: sent now, or (kernel full) once
    /// the socket is writable; the next write sends it first anyway.
    static void flush_after_read(const std::shared_ptr<TlsStream>& tls, asio::ip::tcp::socket& s) {
        std::error_code ec;
        if (send_ciphertext(tls, s, ec) || ec != asio::error::would_block || tls->flush_waiting) {
            return;
        }
        tls->flush_waiting = true;
        s.async_wait(asio::socket_base::wait_write, [tls, &s](std::error_code wec) {
            tls->flush_waiting = false;
            if (!wec) {
                flush_after_read(tls, s);
            }
        });
    }

    template <class Handler>
    struct ReadOp {
        std::shared_ptr<TlsStream> tls;
        asio::ip::tcp::socket* socket;
        asio::mutable_buffer buf;
        Handler handler;

        void start() {
            // A record may already be buffered (it came with the handshake's last bytes,
            // or did not fit the last read): complete from a posted handler, never inline.
            std::size_t n = 0;
            std::error_code ec;
            auto r = tls->read(static_cast<char*>(buf.data()), buf.size(), n, ec);
            if (r != TlsStream::Result::want_read) {
                asio::post(socket->get_executor(),
                           [h = std::move(handler), ec, n]() mutable { h(ec, n); });
                return;
            }
            receive();
        }
        void receive() {
            auto* s = socket;
            char* room = tls->input();
            s->async_receive(asio::buffer(room, TlsStream::recv_size), std::move(*this));
        }
        void operator()(std::error_code ec, std::size_t got) {
            if (ec == asio::error::eof) {
                ec = tls->end_of_input();
            }
            if (ec) {
                handler(ec, 0);
                return;
            }
            tls->commit_input(got);
            std::size_t n = 0;
            auto r = tls->read(static_cast<char*>(buf.data()), buf.size(), n, ec);
            flush_after_read(tls, *socket);
            if (r == TlsStream::Result::want_read) {
                receive();
                return;
            }
            handler(ec, n);
        }
    };

    template <class Handler>
    struct HandshakeOp {
        std::shared_ptr<TlsStream> tls;
        asio::ip::tcp::socket* socket;
        Handler handler;

        void complete(std::error_code ec, bool initiating) {
            if (initiating) {
                asio::post(socket->get_executor(),
                           [h = std::move(handler), ec]() mutable { h(ec); });
            } else {
                handler(ec);
            }
        }
        void step(bool initiating) {
            std::error_code ec;
            auto r = tls->handshake(ec);
            std::error_code sec;
            if (!ensure_non_blocking(*socket, sec) || !send_ciphertext(tls, *socket, sec)) {
                if (r != TlsStream::Result::error && sec == asio::error::would_block) {
                    auto* s = socket;
                    s->async_wait(asio::socket_base::wait_write, std::move(*this));
                    return;
                }
                if (r != TlsStream::Result::error) {
                    complete(sec, initiating);
                    return;
                }
                // A failed handshake's alert is sent if the kernel takes it at once.
            }
            if (r == TlsStream::Result::want_read) {
                auto* s = socket;
                char* room = tls->input();
                s->async_receive(asio::buffer(room, TlsStream::recv_size), std::move(*this));
                return;
            }
            complete(ec, initiating);
        }
        void operator()(std::error_code ec) { // writable again
            if (ec) {
                handler(ec);
                return;
            }
            step(false);
        }
        void operator()(std::error_code ec, std::size_t got) { // ciphertext received
            if (ec == asio::error::eof) {
                ec = tls->end_of_input();
            }
            if (ec) {
                handler(ec);
                return;
            }
            tls->commit_input(got);
            step(false);
        }
    };

    asio::ip::tcp::socket socket_;
    std::shared_ptr<asio::ssl::context> context_;
    std::shared_ptr<TlsStream> tls_;
};

/// Whether `ec` is an ordinary end of a connection (EOF, or TLS closed without close_notify).
[[nodiscard]] inline bool is_end_of_stream(const std::error_code& ec) {
    return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

} // namespace lon::link
