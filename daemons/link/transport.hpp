#pragma once

#include <memory>
#include <span>
#include <system_error>
#include <utility>

#include <asio.hpp>
#include <asio/ssl.hpp>

namespace lon::link {

/// One TCP connection that starts in plaintext (for the init line and its answer) and may be
/// upgraded in place to TLS after "ok:ssl". Reads and writes go to whichever layer is active,
/// so LineSession works the same over both.
///
/// A peer that closes a TLS connection without close_notify (asio::ssl::error::
/// stream_truncated) is treated like a plain EOF: the protocol is line-based, a partial line
/// is never delivered, so truncation cannot be mistaken for data.
class Transport final {
public:
    using executor_type = asio::ip::tcp::socket::executor_type;

    explicit Transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
    explicit Transport(asio::io_context& io) : socket_(io) {}
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    [[nodiscard]] executor_type get_executor() { return socket_.get_executor(); }
    [[nodiscard]] asio::ip::tcp::socket& tcp() { return socket_; }
    [[nodiscard]] bool tls() const { return ssl_ != nullptr; }
    /// The OpenSSL connection (nullptr before begin_tls).
    [[nodiscard]] SSL* ssl() { return ssl_ ? ssl_->native_handle() : nullptr; }

    /// Wraps the connection in TLS with `context` (no I/O yet). The context is kept alive
    /// for as long as this connection uses it, whatever a reload does to the caller's copy.
    void begin_tls(std::shared_ptr<asio::ssl::context> context) {
        context_ = std::move(context);
        ssl_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *context_);
    }

    template <class Handler>
    void async_handshake(asio::ssl::stream_base::handshake_type type, Handler&& handler) {
        ssl_->async_handshake(type, std::forward<Handler>(handler));
    }

    template <class Buffers, class Handler>
    void async_read_some(const Buffers& buffers, Handler&& handler) {
        if (ssl_) {
            ssl_->async_read_some(buffers, std::forward<Handler>(handler));
        } else {
            socket_.async_read_some(buffers, std::forward<Handler>(handler));
        }
    }

    template <class Buffers, class Handler>
    void async_write_some(const Buffers& buffers, Handler&& handler) {
        if (ssl_) {
            ssl_->async_write_some(buffers, std::forward<Handler>(handler));
        } else {
            socket_.async_write_some(buffers, std::forward<Handler>(handler));
        }
    }

    static constexpr auto wait_write = asio::socket_base::wait_write;

    /// Whether try_write_some may be used (plaintext only: asio::ssl::stream has no
    /// non-blocking write).
    [[nodiscard]] bool can_try_write() const { return ssl_ == nullptr; }

    /// Sends what the kernel takes at once, without blocking (would_block if nothing);
    /// the completion is not posted, so the caller knows at once what was sent.
    std::size_t try_write_some(std::span<const asio::const_buffer> buffers, std::error_code& ec) {
        if (!non_blocking_) {
            socket_.non_blocking(true, ec);
            if (ec) {
                return 0;
            }
            non_blocking_ = true;
        }
        return socket_.write_some(buffers, ec);
    }

    /// Waits until the socket is ready (for the rest of a write try_write_some began).
    template <class Handler>
    void async_wait(asio::socket_base::wait_type what, Handler&& handler) {
        socket_.async_wait(what, std::forward<Handler>(handler));
    }

    void close(std::error_code& ec) { socket_.close(ec); }

private:
    asio::ip::tcp::socket socket_;
    std::shared_ptr<asio::ssl::context> context_;
    std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> ssl_;
    bool non_blocking_ = false;
};

/// Whether `ec` is an ordinary end of a connection (EOF, or TLS closed without close_notify).
[[nodiscard]] inline bool is_end_of_stream(const std::error_code& ec) {
    return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

} // namespace lon::link
