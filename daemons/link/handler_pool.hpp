#pragma once

// Persistent connections from one lond child to its local line service (lond.handler).
// One request line out, one reply line back, in order per connection; requests are
// pipelined, so a busy peer costs a handful of unix connections instead of one per request.
// Owned by the lond child's PeerServer; single-threaded on its io_context.

#include <chrono>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <asio.hpp>

#include "handler_pace.hpp"
#include "log_throttle.hpp"

namespace lon::link {

/// A small pool of unix connections to a line service, opened lazily, each carrying a FIFO of
/// requests in flight: the reply line read from a connection completes the oldest request on
/// it. A request goes to the open connection with the fewest in flight; a new connection is
/// opened (up to `connections`) while every open one is busy.
///
/// The pool learns which of the two handler models it talks to:
/// * persistent: serves many lines per connection (pipelined);
/// * one-shot: answers one line and closes (the model of lond before the pool).
/// Until it knows, a connection carries one request at a time, and after its first reply it
/// is given `probation` to close: closed in time, the handler is one-shot, and from then on
/// each request gets a connection of its own (bounded only by the caller's limiter); still
/// open, it is persistent and requests are pipelined. Either verdict is revised by what the
/// next connections do, so a handler replaced by one of the other model keeps working.
///
/// A connection that ends or fails fails only its own requests still in flight (and only
/// those: a one-shot handler that answered everything and closed is normal, no error). A
/// connection that cannot be opened makes the pool wait `backoff` (doubling up to
/// `backoff_max`) before the next attempt; requests that find no connection meanwhile fail
/// at once. Every request has a deadline (`timeout` from submit): when the oldest request on
/// a connection passes it, that connection is closed and its requests fail (its later
/// replies could no longer be matched). Log lines about the handler are throttled.
///
/// Writes: a request is written at once, with a direct non-blocking send when nothing else is
/// being written on its connection (no completion to wait for, so the reply is read in the
/// next turn of the event loop). Between hold() and release() — lond holds the pool while it
/// serves a burst of request lines read together — requests are only queued, the burst goes
/// to one connection (the least loaded when the burst starts, or a new one), in runs of as
/// many requests as the handler answers in about a millisecond, 16 to 64 (proto::HandlerPace,
/// fed by how long each connection takes to answer; a larger burst takes the next least
/// loaded connection for its next run, so a handler that serves its connections in parallel
/// still gets slow work spread), and release() writes each connection's queue with one send:
/// a pipelined burst costs the handler one read and one write instead of one per request,
/// and replies come back together.
///
/// Bounds: requests in flight and waiting here are at most what the caller admits (lond's
/// RequestLimiter: lond.max_handler_requests); a reply line longer than `max_reply` bytes
/// completes its request with asio::error::not_found and is skipped to its end.
class HandlerPool final {
public:
    /// Exactly once per request: the reply (no '\n'), or an error (asio::error::not_found: the
    /// reply was too long; anything else: the handler was unavailable for this request).
    using Done = std::function<void(std::error_code, std::string)>;

    struct Settings {
        std::filesystem::path path;
        std::size_t connections = 4;
        std::size_t max_reply = 16 * 1024 * 1024;
        std::chrono::milliseconds timeout{300'000};
        std::chrono::milliseconds probation{200};
        std::chrono::milliseconds backoff{100};
        std::chrono::milliseconds backoff_max{2'000};
    };

    enum class Model { unknown, persistent, one_shot };

    HandlerPool(asio::io_context& io, Settings settings);
    HandlerPool(const HandlerPool&) = delete;
    HandlerPool& operator=(const HandlerPool&) = delete;
    /// Closes every connection; requests still in flight are dropped without a reply (the
    /// process is ending).
    ~HandlerPool();

    /// Sends `line` (without '\n') and calls `done` once with its reply.
    void submit(std::string line, Done done);

    /// Holds writes until the matching release(): requests submitted meanwhile form one burst
    /// (see the class comment). Holds nest; the caller must release every hold it takes.
    void hold() { ++holds_; }
    /// Ends a hold; the last one writes what the burst queued.
    void release();

    /// New settings after a reload. A new path retires the connections to the old one (they
    /// finish their requests in flight, take no new ones) and forgets the model and the pace.
    void configure(Settings settings);

    [[nodiscard]] Model model() const { return model_; }
    /// Connections open or opening now.
    [[nodiscard]] std::size_t connections() const { return conns_.size(); }

    class Connection;

private:
    friend class Connection;
    struct Request {
        std::string line;
        Done done;
        std::chrono::steady_clock::time_point deadline;
    };

    /// Places `r` on a connection, keeps it waiting, or fails it.
    void place(Request r);
    /// Starts waiting requests on connections that can take them now.
    void drain();
    [[nodiscard]] bool may_open() const;
    std::shared_ptr<Connection> open(Request r);
    /// `c` takes the next request of the current burst.
    void note_burst(const std::shared_ptr<Connection>& c);
    Connection* least_loaded() const;
    Connection* idle_unproven() const;

    // Called by connections.
    void on_connected(Connection& c);
    void on_proven(Connection& c);
    void on_idle(Connection& c);
    void on_closed(Connection& c, const std::error_code& ec, std::size_t failed,
                   bool ever_connected);
    void warn(std::string_view key, const std::string& text);

    asio::io_context& io_;
    Settings settings_;
    Model model_ = Model::unknown;
    std::vector<std::shared_ptr<Connection>> conns_;
    /// Requests not on a connection yet (unknown model: every connection is busy or on
    /// probation). At most what the caller admits (lond.max_handler_requests).
    std::deque<Request> waiting_;
    std::chrono::steady_clock::time_point reopen_at_{};
    std::chrono::milliseconds backoff_{0};
    LogThrottle log_throttle_;
    std::size_t holds_ = 0; ///< hold() minus release()
    /// The connection taking the current burst (persistent model, while held).
    std::weak_ptr<Connection> burst_;
    std::size_t burst_count_ = 0; ///< requests of the current run on burst_
    proto::HandlerPace pace_; ///< how fast the handler answers: sizes the runs
};

} // namespace lon::link
