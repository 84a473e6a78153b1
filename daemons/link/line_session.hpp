#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <asio.hpp>

#include "heap.hpp"
#include "line_framer.hpp"
#include "net.hpp"
#include "output_flusher.hpp"

namespace lon::link {

/// One stream connection carrying '\n'-terminated lines (CRTP base for lond sessions, lonc
/// outbound links and lonc local clients). Derived provides:
///   void on_line(std::string line);        // one complete line, '\n' removed
///     (or on_line(std::string_view): the line in the read buffer, valid during the call)
///   void on_too_long();                    // a line went over the limit
///   void on_closed(const std::error_code&); // called once, after close()
/// and, optionally:
///   void on_input_end();   // end of input under EofPolicy::serve*: every line delivered
///   void on_output_sent(); // everything queued so far has been handed to the kernel
/// Reads stop while more than `max_pending_output` bytes wait to be written, so a peer that
/// sends without reading cannot make us buffer without bound.
///
/// Output is a list of chunks written with one gathered write: small pieces are appended to
/// the last chunk (so a burst of replies becomes one chunk, one TLS record, one send), while a
/// large message given by value (send(std::string&&), `move_min` bytes or more) becomes a
/// chunk of its own without a copy. Reads take up to `read_size` bytes per call: into the
/// framer's room while a large message arrives (or a message, in room a large one left),
/// else into a read buffer.
///
/// When a write starts: output queued while a read's lines are handled is written when that
/// read's handler ends (OutputFlusher::Batch) if that read came after a quiet gap (the first
/// of its scheduler round), else with the round's other output by one posted flush for all
/// sessions, as is output queued elsewhere (see output_flusher.hpp). A write first tries a
/// non-blocking send (Socket::try_write_some when it has one, or a plain socket's
/// write_some); only what the kernel does not take at once waits for the socket to become
/// writable. "Sent"
/// (unsent_messages, on_output_sent, after_flush, close_after_flush) still means: every
/// byte of those messages has been handed to the kernel.
template <class Derived, class Socket>
class LineSession : public std::enable_shared_from_this<Derived>, public RoomHolder {
public:
    static constexpr std::size_t max_pending_output = 8 * 1024 * 1024;
    /// A message of this size or more, given by value, is queued without a copy.
    static constexpr std::size_t move_min = 16 * 1024;
    /// Bytes asked for per read (under TLS: plaintext of the complete records received).
    static constexpr std::size_t read_size = 64 * 1024;
    using clock = std::chrono::steady_clock;

    /// What end of input (the other side shut its sending half down, or closed) means.
    enum class EofPolicy {
        close,           ///< the connection is over: close it now (on_closed gets eof)
        serve,           ///< a half-close: deliver every complete line, then on_input_end;
                         ///< an unterminated tail is dropped
        serve_with_tail, ///< the same, and an unterminated tail is one more line
    };

    LineSession(Socket socket, std::size_t max_line)
        : socket_(std::move(socket)), framer_(max_line) {}
    /// Constructs the socket in place from `args` (an io_context, or a socket to wrap).
    template <class... Args>
    LineSession(std::in_place_t, std::size_t max_line, Args&&... args)
        : socket_(std::forward<Args>(args)...), framer_(max_line) {}

    /// RoomHolder: large messages have stopped passing in this process; the framer's room
    /// for a next line and the kept small-chunk room go back (spare_ is never part of a
    /// write in progress: a write owns wbuf_).
    void release_room() override {
        give_back_room(framer_); // an idle session's read keeps the part lent to it
        std::string().swap(spare_);
    }

    [[nodiscard]] bool closed() const { return closed_; }
    [[nodiscard]] Socket& socket() { return socket_; }
    /// The input has ended (under EofPolicy::serve*): no more lines will come.
    [[nodiscard]] bool input_ended() const { return eof_; }
    /// When bytes last arrived (or the session started).
    [[nodiscard]] clock::time_point last_input() const { return last_input_; }
    /// Messages (as counted by send) not yet handed to the kernel.
    [[nodiscard]] std::size_t unsent_messages() const { return out_messages_ + wbuf_messages_; }
    /// Whether reading is paused (pause_reading, close_after_flush).
    [[nodiscard]] bool reading_paused() const { return stop_reading_; }

    /// Queues `bytes` for writing (in order), `messages` of them for unsent_messages().
    /// Ignored once closed.
    void send(std::string_view bytes, std::size_t messages = 0) {
        if (closed_) {
            return;
        }
        if (out_.empty() || out_.back().size() >= move_min) {
            // A large chunk is left as it is (it may be a moved message); a new one reuses
            // the room of the last small chunk written.
            out_.push_back(std::move(spare_));
            spare_.clear();
            out_.back().clear();
        }
        out_.back().append(bytes);
        queued(bytes.size(), messages);
    }
    /// The same for a message given by value: a large one is queued as it is, not copied.
    void send(std::string&& bytes, std::size_t messages = 0) {
        if (bytes.size() < move_min) {
            send(std::string_view(bytes), messages);
            return;
        }
        if (closed_) {
            return;
        }
        std::size_t n = bytes.size();
        out_.push_back(std::move(bytes));
        queued(n, messages);
    }
    void send(const char* bytes, std::size_t messages = 0) {
        send(std::string_view(bytes), messages);
    }

private:
    void queued(std::size_t bytes, std::size_t messages) {
        if (bytes >= move_min) {
            HeapKeeper::note_large();
        }
        out_bytes_ += bytes;
        out_messages_ += messages;
        if (!writing_) {
            // The write starts when the handler that is handling a read's lines ends (or
            // from one posted flush), so every reply produced by one burst of pipelined
            // requests goes out in a single write.
            writing_ = true;
            OutputFlusher::of(socket_.get_executor())
                .add(socket_.get_executor(),
                     FlushEntry{this->shared_from_this(),
                                [](void* p) { static_cast<LineSession*>(p)->flush_output(); },
                                this});
        }
    }

    void flush_output() {
        if (closed_) {
            writing_ = false;
            return;
        }
        do_write();
    }

public:

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
        if (eof_) {
            finish_input();
        } else {
            do_read();
        }
    }
    /// Runs `then` once everything queued so far has been written (not at all if the
    /// connection closes first).
    void after_flush(std::function<void()> then) {
        if (!writing_ && out_bytes_ == 0) {
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
        if (!writing_ && out_bytes_ == 0) {
            close();
        } else {
            close_after_write_ = true;
        }
    }

protected:
    /// Bytes that arrived before this object took the socket over (lond hand-off).
    void feed(std::string_view bytes) { framer_.feed(bytes); }
    /// Chooses what end of input means (default: close).
    void set_eof_policy(EofPolicy policy) { eof_policy_ = policy; }

    /// Delivers buffered lines, then keeps reading until the connection ends.
    void start() {
        drain();
        do_read();
    }

    [[nodiscard]] proto::LineFramer& framer() { return framer_; }

private:
    /// Derived takes each line as a view (valid during the call: it must not keep it), which
    /// spares a copy and an allocation per line.
    static constexpr bool takes_views = requires(Derived& d, std::string_view v) { d.on_line(v); };

    void drain() {
        while (!closed_ && !stop_reading_) {
            auto r = [this] {
                if constexpr (takes_views) {
                    return framer_.next_view();
                } else {
                    return framer_.next();
                }
            }();
            if (r.status == proto::LineFramer::Status::line) {
                static_cast<Derived&>(*this).on_line(std::move(r.line));
            } else if (r.status == proto::LineFramer::Status::too_long) {
                static_cast<Derived&>(*this).on_too_long();
            } else {
                break;
            }
        }
    }

    /// End of input under a serve policy: delivers what is left (once not paused), then
    /// tells Derived.
    void finish_input() {
        drain();
        if (closed_ || stop_reading_ || input_done_) {
            return; // paused: resume_reading comes back here
        }
        input_done_ = true;
        auto tail = framer_.finish();
        if (eof_policy_ == EofPolicy::serve_with_tail) {
            if (tail.status == proto::LineFramer::Status::line) {
                static_cast<Derived&>(*this).on_line(std::move(tail.line));
            } else if (tail.status == proto::LineFramer::Status::too_long) {
                static_cast<Derived&>(*this).on_too_long();
            }
        }
        if (closed_) {
            return;
        }
        if constexpr (requires(Derived& d) { d.on_input_end(); }) {
            static_cast<Derived&>(*this).on_input_end();
        } else {
            close_after_flush();
        }
    }

    void do_read() {
        if (closed_ || reading_ || stop_reading_ || eof_) {
            return;
        }
        if (out_bytes_ + wbuf_bytes_ > max_pending_output) {
            return; // resumed by the write completion
        }
        reading_ = true;
        // The rest of a large message, or any message while room a large one left is held,
        // is read straight into the framer (a 64 KiB line would otherwise be copied once
        // more, from the read buffer). Else the read buffer, touched only as far as a read
        // fills it: a session that has seen no large message holds no room. (An idle
        // session's read keeps read_size bytes of room lent; release_room gives the pages
        // of the rest back.)
        into_framer_ = framer_.buffered() >= move_min || framer_.room() >= read_size;
        asio::mutable_buffer into;
        if (into_framer_) {
            auto room = framer_.prepare(read_size);
            into = asio::buffer(room.data(), room.size());
        } else {
            if (!rbuf_) {
                rbuf_ = std::make_unique_for_overwrite<char[]>(read_size); // not touched until read
            }
            into = asio::buffer(rbuf_.get(), read_size);
        }
        socket_.async_read_some(into, [self = this->shared_from_this()](std::error_code ec,
                                                                        std::size_t n) {
            LineSession& s = *self;
            s.reading_ = false;
            if (s.into_framer_ && (ec || s.closed_)) {
                s.framer_.commit(0); // the room is the framer's again
            }
            if (s.closed_) {
                return;
            }
            if (ec == asio::error::eof && s.eof_policy_ != EofPolicy::close) {
                s.eof_ = true;
                s.finish_input();
                return;
            }
            if (ec) {
                s.close(ec);
                return;
            }
            s.last_input_ = clock::now();
            if (n >= move_min) {
                HeapKeeper::note_large();
            }
            if (s.into_framer_) {
                s.framer_.commit(n);
            } else {
                s.framer_.feed(std::string_view(s.rbuf_.get(), n));
            }
            {
                OutputFlusher::Batch batch(OutputFlusher::of(s.socket_.get_executor()));
                s.drain();
            } // writes what the lines produced, here and in the sessions they sent to
            s.do_read();
        });
    }

    void do_write() {
        writing_ = true;
        wbuf_.swap(out_);
        out_.clear();
        wbuf_bytes_ = out_bytes_;
        out_bytes_ = 0;
        wbuf_messages_ = out_messages_;
        out_messages_ = 0;
        wbufs_.clear();
        for (const auto& chunk : wbuf_) {
            wbufs_.push_back(asio::buffer(chunk));
        }
        wnext_ = 0;
        write_more();
    }

    /// Hands what the kernel takes at once to it, without blocking and without a posted
    /// completion: Socket::try_write_some (Transport), or a plain socket's write_some in
    /// non-blocking mode.
    std::size_t try_write(std::error_code& ec) {
        auto first = wbufs_.begin() + static_cast<std::ptrdiff_t>(wnext_);
        if constexpr (requires(Socket& s, std::error_code& e) { s.try_write_some(wbufs_, e); }) {
            return socket_.try_write_some(std::span(first, wbufs_.end()), ec);
        } else {
            if (!ensure_non_blocking(socket_, ec)) {
                return 0;
            }
            return socket_.write_some(std::span(first, wbufs_.end()), ec);
        }
    }

    /// Drops the first `n` bytes of the buffers being written.
    void consume(std::size_t n) {
        while (n > 0 && wnext_ < wbufs_.size()) {
            auto& b = wbufs_[wnext_];
            if (n >= b.size()) {
                n -= b.size();
                ++wnext_;
            } else {
                b += n;
                n = 0;
            }
        }
        while (wnext_ < wbufs_.size() && wbufs_[wnext_].size() == 0) {
            ++wnext_;
        }
    }

    void write_more() {
        for (;;) {
            std::error_code ec;
            std::size_t n = try_write(ec);
            consume(n);
            bool again = ec == asio::error::would_block || ec == asio::error::try_again;
            if (ec && !again) {
                write_done(ec);
                return;
            }
            if (!again && wnext_ == wbufs_.size()) {
                write_done({}); // all handed to the kernel, no completion to wait for
                return;
            }
            if (again || n == 0) {
                break;
            }
            // Progress and more to go (a TLS write takes at most its bound per call).
        }
        // The kernel took part (or, under TLS, some ciphertext is left): the rest when the
        // socket is writable again.
        socket_.async_wait(Socket::wait_write, [self = this->shared_from_this()](
                                                   std::error_code wec) {
            LineSession& s = *self;
            if (wec || s.closed_) {
                s.write_done(wec);
                return;
            }
            OutputFlusher::Batch batch(OutputFlusher::of(s.socket_.get_executor()));
            s.write_more();
        });
    }

    /// The write of wbuf_ has ended (all of it handed to the kernel, or `ec`).
    void write_done(const std::error_code& ec) {
        writing_ = false;
        if (!wbuf_.empty() && wbuf_.front().capacity() <= move_min * 4) {
            spare_ = std::move(wbuf_.front()); // kept: the next burst needs no malloc
        }
        wbuf_.clear(); // frees what was written (a large message at once)
        wbufs_.clear();
        wnext_ = 0;
        wbuf_bytes_ = 0;
        wbuf_messages_ = 0;
        if (closed_) {
            return;
        }
        if (ec) {
            close(ec);
            return;
        }
        if (out_bytes_ > 0) {
            do_write();
            if (closed_) {
                return;
            }
        } else if (close_after_write_) {
            close();
            return;
        } else if (after_flush_) {
            auto then = std::move(after_flush_);
            after_flush_ = nullptr;
            then();
        }
        if constexpr (requires(Derived& d) { d.on_output_sent(); }) {
            if (closed_) {
                return;
            }
            static_cast<Derived&>(*this).on_output_sent(); // may send (lists this session)
        }
        do_read();
    }

    Socket socket_;
    proto::LineFramer framer_;
    std::unique_ptr<char[]> rbuf_; ///< read_size bytes, allocated at the first read
    bool into_framer_ = false;     ///< the read in progress fills the framer's room
    std::vector<std::string> out_;  ///< queued, not yet handed to the kernel
    std::vector<std::string> wbuf_; ///< being written
    std::vector<asio::const_buffer> wbufs_; ///< wbuf_'s chunks, for the gathered write
    std::size_t wnext_ = 0; ///< wbufs_[wnext_] is the first not (fully) written
    std::string spare_; ///< a small chunk's room, reused
    std::size_t out_bytes_ = 0;
    std::size_t wbuf_bytes_ = 0;
    std::size_t out_messages_ = 0;
    std::size_t wbuf_messages_ = 0;
    clock::time_point last_input_ = clock::now();
    EofPolicy eof_policy_ = EofPolicy::close;
    bool eof_ = false;        ///< input ended (serve policies)
    bool input_done_ = false; ///< finish_input has run to its end
    bool reading_ = false;
    bool writing_ = false;
    bool closed_ = false;
    bool stop_reading_ = false;
    bool close_after_write_ = false;
    std::function<void()> after_flush_;
};

} // namespace lon::link
