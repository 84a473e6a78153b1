#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <asio.hpp>

#include "line_framer.hpp"

namespace lon::link {

/// One stream connection carrying '\n'-terminated lines (CRTP base for lond sessions, lonc
/// outbound links and lonc local clients). Derived provides:
///   void on_line(std::string line);        // one complete line, '\n' removed
///   void on_too_long();                    // a line went over the limit
///   void on_closed(const std::error_code&); // called once, after close()
/// Reads stop while more than `max_pending_output` bytes wait to be written, so a peer that
/// sends without reading cannot make us buffer without bound.
template <class Derived, class Socket>
class LineSession : public std::enable_shared_from_this<Derived> {
public:
    static constexpr std::size_t max_pending_output = 8 * 1024 * 1024;

    LineSession(Socket socket, std::size_t max_line)
        : socket_(std::move(socket)), framer_(max_line) {}
    /// Constructs the socket in place from `args` (an io_context, or a socket to wrap).
    template <class... Args>
    LineSession(std::in_place_t, std::size_t max_line, Args&&... args)
        : socket_(std::forward<Args>(args)...), framer_(max_line) {}

    [[nodiscard]] bool closed() const { return closed_; }
    [[nodiscard]] Socket& socket() { return socket_; }
    /// When bytes last arrived (construction time before any): liveness checks use it.
    [[nodiscard]] std::chrono::steady_clock::time_point last_read() const { return last_read_; }

    /// Queues `bytes` for writing (in order). Ignored once closed.
    void send(std::string_view bytes) {
        if (closed_) {
            return;
        }
        out_.append(bytes);
        if (!writing_) {
            // Start the write from a fresh handler, so every reply produced while handling
            // one read (a burst of pipelined requests) goes out in a single write.
            writing_ = true;
            asio::post(socket_.get_executor(), [self = this->shared_from_this()] {
                LineSession& s = *self;
                if (s.closed_) {
                    s.writing_ = false;
                    return;
                }
                s.do_write();
            });
        }
    }

    /// Closes the socket now; pending reads/writes end with operation_aborted.
    void close(const std::error_code& why = {}) {
        if (closed_) {
            return;
        }
        closed_ = true;
        std::error_code ignored;
        socket_.close(ignored);
        static_cast<Derived&>(*this).on_closed(why);
    }

    /// Stops delivering lines and reading (e.g. before a TLS handshake on the same socket).
    void pause_reading() { stop_reading_ = true; }
    /// Delivers buffered lines again and resumes reading.
    void resume_reading() {
        if (closed_ || close_after_write_) {
            return;
        }
        stop_reading_ = false;
        drain();
        do_read();
    }
    /// Runs `then` once everything queued so far has been written (not at all if the
    /// connection closes first).
    void after_flush(std::function<void()> then) {
        if (!writing_ && out_.empty()) {
            asio::post(socket_.get_executor(), [self = this->shared_from_this(), then] {
                if (!self->closed()) {
                    then();
                }
            });
        } else {
            after_flush_ = std::move(then);
        }
    }

    /// Closes once everything queued has been written; stops reading now.
    void close_after_flush() {
        stop_reading_ = true;
        if (!writing_ && out_.empty()) {
            close();
        } else {
            close_after_write_ = true;
        }
    }

protected:
    /// Bytes that arrived before this object took the socket over (lond hand-off).
    void feed(std::string_view bytes) { framer_.feed(bytes); }

    /// Delivers buffered lines, then keeps reading until the connection ends.
    void start() {
        drain();
        do_read();
    }

    [[nodiscard]] proto::LineFramer& framer() { return framer_; }

private:
    void drain() {
        while (!closed_ && !stop_reading_) {
            auto r = framer_.next();
            if (r.status == proto::LineFramer::Status::line) {
                static_cast<Derived&>(*this).on_line(std::move(r.line));
            } else if (r.status == proto::LineFramer::Status::too_long) {
                static_cast<Derived&>(*this).on_too_long();
            } else {
                break;
            }
        }
    }

    void do_read() {
        if (closed_ || reading_ || stop_reading_) {
            return;
        }
        if (out_.size() + wbuf_.size() > max_pending_output) {
            return; // resumed by the write completion
        }
        reading_ = true;
        socket_.async_read_some(asio::buffer(rbuf_), [self = this->shared_from_this()](
                                                         std::error_code ec, std::size_t n) {
            LineSession& s = *self;
            s.reading_ = false;
            if (s.closed_) {
                return;
            }
            if (ec) {
                s.close(ec);
                return;
            }
            s.last_read_ = std::chrono::steady_clock::now();
            s.framer_.feed(std::string_view(s.rbuf_.data(), n));
            s.drain();
            s.do_read();
        });
    }

    void do_write() {
        writing_ = true;
        wbuf_.swap(out_);
        out_.clear();
        asio::async_write(socket_, asio::buffer(wbuf_), [self = this->shared_from_this()](
                                                            std::error_code ec, std::size_t) {
            LineSession& s = *self;
            s.writing_ = false;
            s.wbuf_.clear();
            if (s.closed_) {
                return;
            }
            if (ec) {
                s.close(ec);
                return;
            }
            if (!s.out_.empty()) {
                s.do_write();
            } else if (s.close_after_write_) {
                s.close();
                return;
            } else if (s.after_flush_) {
                auto then = std::move(s.after_flush_);
                s.after_flush_ = nullptr;
                then();
            }
            s.do_read();
        });
    }

    Socket socket_;
    proto::LineFramer framer_;
    std::array<char, 16384> rbuf_{};
    std::string out_;  ///< queued, not yet handed to the kernel
    std::string wbuf_; ///< being written
    bool reading_ = false;
    bool writing_ = false;
    bool closed_ = false;
    bool stop_reading_ = false;
    bool close_after_write_ = false;
    std::function<void()> after_flush_;
    std::chrono::steady_clock::time_point last_read_ = std::chrono::steady_clock::now();
};

} // namespace lon::link
