#include "handler_pool.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <spdlog/spdlog.h>

namespace lon::link {

using Clock = std::chrono::steady_clock;

/// One unix connection to the handler and the FIFO of requests written (or to be written) on
/// it. Kept alive by its pending operations and by the pool's list; `pool_` is cleared when
/// the pool goes away first.
class HandlerPool::Connection final : public std::enable_shared_from_this<Connection> {
public:
    Connection(HandlerPool& pool, asio::io_context& io)
        : pool_(&pool), socket_(io), timer_(io) {}

    void start(const std::filesystem::path& path, Request first) {
        add(std::move(first));
        socket_.async_connect(asio::local::stream_protocol::endpoint(path.native()),
                              [self = shared_from_this()](std::error_code ec) {
                                  self->on_connect(ec);
                              });
    }

    /// Queues `r` behind the requests already in flight here; writes it now unless the pool
    /// is held (then the pool's release() calls flush()).
    void add(Request r) {
        if (in_flight_.empty()) {
            busy_since_ = Clock::now(); // the handler's time to answer counts from here
        }
        out_ += r.line;
        out_.push_back('\n');
        in_flight_.push_back(std::move(r));
        arm_timer();
        if (pool_ == nullptr || pool_->holds_ == 0) {
            flush();
        }
    }

    /// Writes what is queued: with a direct non-blocking send when no write is in progress
    /// (no completion handler, hence no extra turn of the event loop per request), the rest —
    /// a full socket buffer, or an error, which the asynchronous write then reports from its
    /// completion, never from inside the caller — with an asynchronous write.
    void flush() {
        if (connecting_ || closed_ || writing_ || out_.empty()) {
            return;
        }
        std::error_code ec;
        std::size_t n = socket_.write_some(asio::buffer(out_), ec);
        if (!ec && n == out_.size()) {
            out_.clear();
            return;
        }
        do_write(ec ? 0 : n); // the rest from where the send stopped (no copy of a large line)
    }

    [[nodiscard]] std::size_t in_flight() const { return in_flight_.size(); }
    [[nodiscard]] bool connecting() const { return connecting_; }
    [[nodiscard]] bool on_probation() const { return probation_; }
    [[nodiscard]] bool retired() const { return retired_; }
    [[nodiscard]] std::size_t answered() const { return answered_; }
    /// May take new requests.
    [[nodiscard]] bool usable() const { return !closed_ && !retired_ && !probation_; }

    /// Ends probation early: the pool knows the handler is persistent.
    void prove() {
        probation_ = false;
    }

    /// Takes no new requests; closes (quietly) once its requests are answered.
    void retire() {
        retired_ = true;
    }

    /// Closes without telling anyone: the pool is going away, or drops an idle spare.
    void detach() {
        pool_ = nullptr;
        shut();
    }

private:
    void on_connect(const std::error_code& ec) {
        if (closed_) {
            return;
        }
        if (ec) {
            close(ec);
            return;
        }
        connecting_ = false;
        ever_connected_ = true;
        std::error_code ignored;
        socket_.non_blocking(true, ignored); // flush() sends directly; would_block -> async
        if (pool_ != nullptr) {
            pool_->on_connected(*this);
        }
        if (pool_ == nullptr || pool_->holds_ == 0) {
            flush();
        }
        do_read();
    }

    /// Writes out_ asynchronously, but for its first `skip` bytes (already sent).
    void do_write(std::size_t skip = 0) {
        if (connecting_ || closed_ || writing_ || out_.empty()) {
            return;
        }
        writing_ = true;
        std::swap(sending_, out_);
        out_.clear();
        asio::async_write(socket_, asio::buffer(sending_) + skip,
                          [self = shared_from_this()](std::error_code ec, std::size_t) {
                              self->writing_ = false;
                              if (self->closed_) {
                                  return;
                              }
                              if (ec) {
                                  self->close(ec);
                                  return;
                              }
                              self->do_write();
                          });
    }

    void do_read() {
        socket_.async_read_some(asio::buffer(buf_),
                                [self = shared_from_this()](std::error_code ec, std::size_t n) {
                                    self->on_read(ec, n);
                                });
    }

    void on_read(const std::error_code& ec, std::size_t n) {
        if (closed_) {
            return;
        }
        if (ec) {
            close(ec);
            return;
        }
        // Hold ourselves: a completion may lead the pool to drop us from its list.
        auto self = shared_from_this();
        const auto now = Clock::now();
        const std::size_t answered_before = answered_;
        const auto busy_before = busy_since_;
        std::string_view data(buf_.data(), n);
        while (!data.empty() && !closed_) {
            auto nl = data.find('\n');
            if (nl == std::string_view::npos) {
                if (!skipping_) {
                    in_.append(data);
                    if (in_.size() > max_reply()) {
                        // Answer now and skip the rest of that line, so the next line still
                        // answers the next request; the buffer stays within the limit.
                        in_.clear();
                        skipping_ = true;
                        complete(asio::error::not_found, {});
                    }
                }
                break;
            }
            if (skipping_) {
                skipping_ = false;
            } else {
                in_.append(data.substr(0, nl));
                if (in_.size() > max_reply()) {
                    in_.clear();
                    complete(asio::error::not_found, {});
                } else {
                    std::string line = std::move(in_);
                    in_.clear();
                    complete({}, std::move(line));
                }
            }
            data.remove_prefix(nl + 1);
        }
        if (answered_ > answered_before && pool_ != nullptr && !retired_) {
            // How fast the handler answers sizes the pool's burst runs (HandlerPace); a
            // retired connection's handler may be one the pool no longer uses.
            pool_->pace_.answered(now - busy_before, answered_ - answered_before);
        }
        if (busy_since_ == busy_before) {
            busy_since_ = now; // unless a completion above gave this idle connection a request
        }
        if (!closed_) {
            do_read();
        }
    }

    [[nodiscard]] std::size_t max_reply() const {
        return pool_ != nullptr ? pool_->settings_.max_reply : 0;
    }

    /// The line just read answers the oldest request here.
    void complete(const std::error_code& ec, std::string line) {
        if (in_flight_.empty()) {
            if (pool_ != nullptr) {
                pool_->warn("stray", "the handler sent a line no request was waiting for; "
                                     "closing that connection");
            }
            close(asio::error::invalid_argument);
            return;
        }
        Request r = std::move(in_flight_.front());
        in_flight_.pop_front();
        ++answered_;
        if (pool_ != nullptr && answered_ == 1 && pool_->model_ != Model::persistent) {
            // Give a one-shot handler the time to close before anything else goes here.
            probation_ = true;
            probation_end_ = Clock::now() + pool_->settings_.probation;
        }
        r.done(ec, std::move(line));
        if (closed_) {
            return;
        }
        if (in_flight_.empty() && pool_ != nullptr) {
            pool_->on_idle(*this);
        }
        arm_timer();
    }

    /// One timer per connection, for the earliest of: the oldest request's deadline, the end
    /// of probation. Armed lazily: firing early only re-arms.
    void arm_timer() {
        if (closed_) {
            return;
        }
        auto at = Clock::time_point::max();
        if (!in_flight_.empty()) {
            at = in_flight_.front().deadline;
        }
        if (probation_) {
            at = std::min(at, probation_end_);
        }
        if (at == Clock::time_point::max() || at >= armed_at_) {
            return;
        }
        armed_at_ = at;
        timer_.expires_at(at);
        timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (ec || self->closed_) {
                return; // re-armed (operation_aborted) or closed
            }
            self->armed_at_ = Clock::time_point::max();
            self->on_timer();
        });
    }

    void on_timer() {
        auto now = Clock::now();
        if (!in_flight_.empty() && in_flight_.front().deadline <= now) {
            if (pool_ != nullptr) {
                pool_->warn("timeout", "the handler did not answer within " +
                                           std::to_string(pool_->settings_.timeout.count()) +
                                           " ms; closing that connection (" +
                                           std::to_string(in_flight_.size()) +
                                           " requests on it fail)");
            }
            close(asio::error::timed_out);
            return;
        }
        if (probation_ && probation_end_ <= now) {
            probation_ = false;
            if (pool_ != nullptr) {
                pool_->on_proven(*this);
            }
        }
        arm_timer();
    }

    /// Ends the connection: its requests in flight fail with `ec`, then the pool is told.
    void close(std::error_code ec) {
        if (closed_) {
            return;
        }
        auto self = shared_from_this();
        shut();
        auto failed = std::move(in_flight_);
        in_flight_.clear();
        std::error_code reason = ec;
        if (!ec || ec == asio::error::not_found) {
            reason = asio::error::connection_aborted;
        }
        for (auto& r : failed) {
            r.done(reason, {});
        }
        if (pool_ != nullptr) {
            HandlerPool* pool = pool_;
            pool_ = nullptr;
            pool->on_closed(*this, ec, failed.size(), ever_connected_);
        }
    }

    void shut() {
        closed_ = true;
        std::error_code ignored;
        timer_.cancel();
        socket_.close(ignored);
    }

    HandlerPool* pool_;
    asio::local::stream_protocol::socket socket_;
    asio::steady_timer timer_;
    Clock::time_point armed_at_ = Clock::time_point::max();
    std::deque<Request> in_flight_;
    std::string out_;     ///< request lines not yet handed to a write
    std::string sending_; ///< the lines of the write in progress
    std::string in_;      ///< the start of a reply line
    std::array<char, 16 * 1024> buf_{};
    std::size_t answered_ = 0;
    /// Since when the oldest request in flight has been waiting for the handler: when the
    /// connection last went from idle to busy, or last read replies.
    Clock::time_point busy_since_{};
    Clock::time_point probation_end_{};
    bool connecting_ = true;
    bool ever_connected_ = false;
    bool writing_ = false;
    bool closed_ = false;
    bool retired_ = false;
    bool probation_ = false;
    bool skipping_ = false; ///< discarding the rest of an over-long reply line

    friend class HandlerPool;
};

HandlerPool::HandlerPool(asio::io_context& io, Settings settings)
    : io_(io), settings_(std::move(settings)) {}

HandlerPool::~HandlerPool() {
    for (auto& c : conns_) {
        c->detach();
    }
}

void HandlerPool::configure(Settings settings) {
    bool moved = settings.path != settings_.path;
    settings_ = std::move(settings);
    if (settings_.connections == 0) {
        settings_.connections = 1;
    }
    if (!moved) {
        return;
    }
    model_ = Model::unknown;
    pace_ = {}; // another handler: its pace is learnt anew
    backoff_ = std::chrono::milliseconds(0);
    reopen_at_ = {};
    auto conns = conns_;
    for (auto& c : conns) {
        c->retire();
        if (c->in_flight() == 0) {
            std::erase(conns_, c);
            c->detach();
        }
    }
}

void HandlerPool::submit(std::string line, Done done) {
    place(Request{std::move(line), std::move(done), Clock::now() + settings_.timeout});
}

bool HandlerPool::may_open() const {
    return Clock::now() >= reopen_at_;
}

HandlerPool::Connection* HandlerPool::least_loaded() const {
    Connection* best = nullptr;
    for (const auto& c : conns_) {
        if (c->usable() && (best == nullptr || c->in_flight() < best->in_flight())) {
            best = c.get();
        }
    }
    return best;
}

HandlerPool::Connection* HandlerPool::idle_unproven() const {
    for (const auto& c : conns_) {
        if (c->usable() && !c->connecting() && c->in_flight() == 0) {
            return c.get();
        }
    }
    return nullptr;
}

namespace {

std::size_t active(const std::vector<std::shared_ptr<HandlerPool::Connection>>& conns) {
    return static_cast<std::size_t>(
        std::count_if(conns.begin(), conns.end(), [](const auto& c) { return !c->retired(); }));
}

} // namespace

std::shared_ptr<HandlerPool::Connection> HandlerPool::open(Request r) {
    auto c = std::make_shared<Connection>(*this, io_);
    conns_.push_back(c);
    c->start(settings_.path, std::move(r));
    return c;
}

void HandlerPool::note_burst(const std::shared_ptr<Connection>& c) {
    if (burst_.lock() != c) {
        burst_ = c;
        burst_count_ = 0;
    }
    ++burst_count_;
}

void HandlerPool::release() {
    if (holds_ == 0 || --holds_ > 0) {
        return;
    }
    burst_.reset();
    burst_count_ = 0;
    // flush() never closes or calls back (errors come from the asynchronous write), so the
    // list does not change under the loop.
    for (const auto& c : conns_) {
        c->flush();
    }
}

void HandlerPool::place(Request r) {
    // In order of arrival: nothing overtakes a request already waiting.
    waiting_.push_back(std::move(r));
    drain();
}

void HandlerPool::drain() {
    while (!waiting_.empty()) {
        if (waiting_.front().deadline <= Clock::now()) {
            Request gone = std::move(waiting_.front());
            waiting_.pop_front();
            gone.done(asio::error::timed_out, {});
            continue;
        }
        const bool room = active(conns_) < settings_.connections && may_open();
        Connection* to = nullptr;
        bool open_one = false;
        switch (model_) {
        case Model::persistent:
            if (holds_ > 0 && burst_count_ < pace_.run()) {
                // A run of a burst stays on the connection that took its first request.
                if (auto b = burst_.lock(); b && b->usable()) {
                    to = b.get();
                    break;
                }
            }
            // The least loaded connection, unless it is busy and another may be opened.
            to = least_loaded();
            if (room && (to == nullptr || to->in_flight() > 0)) {
                to = nullptr;
                open_one = true;
            }
            break;
        case Model::one_shot:
            // One connection per request; the caller's limiter bounds how many.
            open_one = may_open();
            break;
        case Model::unknown:
            // One request at a time per connection until the model is known.
            to = idle_unproven();
            open_one = to == nullptr && room;
            if (to == nullptr && !open_one && active(conns_) > 0) {
                return; // one of them is free (or gone) soon: drain runs again then
            }
            break;
        }
        Request r = std::move(waiting_.front());
        waiting_.pop_front();
        if (to != nullptr) {
            if (holds_ > 0 && model_ == Model::persistent) {
                note_burst(to->shared_from_this());
            }
            to->add(std::move(r));
        } else if (open_one) {
            auto c = open(std::move(r));
            if (holds_ > 0 && model_ == Model::persistent) {
                note_burst(c);
            }
        } else {
            // No connection, and none may be opened yet (backoff after a failed connect).
            r.done(std::make_error_code(std::errc::connection_refused), {});
        }
    }
}

void HandlerPool::on_connected(Connection& /*c*/) {
    backoff_ = std::chrono::milliseconds(0);
}

void HandlerPool::on_proven(Connection& /*c*/) {
    if (model_ != Model::persistent) {
        spdlog::info("handler {} keeps its connections open: pipelining on up to {} "
                     "(lond.handler_connections)",
                     settings_.path.string(), settings_.connections);
    }
    model_ = Model::persistent;
    for (auto& c : conns_) {
        c->prove();
    }
    drain();
}

void HandlerPool::on_idle(Connection& c) {
    if (c.retired() || (model_ == Model::persistent && !c.on_probation() &&
                        active(conns_) > settings_.connections)) {
        // Retired after a reload, or a spare left from the one-shot model.
        auto keep = c.shared_from_this();
        std::erase(conns_, keep);
        c.detach();
    }
    drain();
}

void HandlerPool::on_closed(Connection& c, const std::error_code& ec, std::size_t failed,
                            bool ever_connected) {
    auto keep = c.shared_from_this();
    std::erase(conns_, keep);
    if (!c.retired()) {
        if (!ever_connected) {
            backoff_ = backoff_.count() == 0
                           ? settings_.backoff
                           : std::min(backoff_ * 2, settings_.backoff_max);
            reopen_at_ = Clock::now() + backoff_;
            warn("connect", "cannot connect to handler " + settings_.path.string() + ": " +
                                ec.message() + " (" + std::to_string(failed) +
                                " requests answered error:handler_unavailable; next attempt "
                                "in " +
                                std::to_string(backoff_.count()) + " ms)");
        } else if (c.answered() == 1) {
            // Answered one request, then closed: the one-shot model. Requests sent after
            // that one (if any) failed above; from now on each gets a connection of its own.
            if (model_ != Model::one_shot) {
                spdlog::info("handler {} closes its connection after a reply: one connection "
                             "per request",
                             settings_.path.string());
            }
            model_ = Model::one_shot;
        }
        if (ever_connected && failed > 0 && ec != asio::error::timed_out) { // logged already
            warn("lost", "connection to handler " + settings_.path.string() + " ended (" +
                             (ec ? ec.message() : std::string("closed")) + ") with " +
                             std::to_string(failed) +
                             " requests unanswered: they get error:handler_unavailable");
        }
    }
    drain();
}

void HandlerPool::warn(std::string_view key, const std::string& text) {
    if (auto suppressed = log_throttle_.admit(key, Clock::now())) {
        if (*suppressed > 0) {
            spdlog::warn("{} ({} more like it since the last report)", text, *suppressed);
        } else {
            spdlog::warn("{}", text);
        }
    }
}

} // namespace lon::link
