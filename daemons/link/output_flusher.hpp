#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include <asio.hpp>

namespace lon::link {

/// A session with output queued that waits for its write to start: `flush(object)` starts
/// it (and may complete it at once and call back); `keep` holds the session alive meanwhile.
struct FlushEntry {
    std::shared_ptr<void> keep;
    void (*flush)(void* object) = nullptr;
    void* object = nullptr;
};

/// The sessions of one io_context that have output queued and no write started yet.
///
/// Why: a session used to post a handler to start its write, so that every reply produced
/// while one read's lines are handled leaves in one write; each post is one more round of
/// Asio's scheduler, which runs epoll_wait each round. Instead, a read completion handles
/// its lines inside a Batch and, when the Batch ends, starts the write of every listed
/// session (its own, and those its lines sent to: a lonc local session's OutboundConn, the
/// local sessions an OutboundConn's replies go to). Output queued outside any Batch (timers,
/// the handler pool, after_flush) gets one posted flush for the whole list, not one per
/// session. A session is listed at most once (its `writing` flag), so the list is bounded
/// by the number of sessions.
///
/// Rounds: a Batch that starts after a quiet gap (`round_gap` since the last Batch ended: the
/// event loop has waited in between) flushes at its end, alone (a lone client's request
/// leaves at once: C=1 latency). A Batch that follows the last one closely is taken for
/// another read that the same epoll_wait reported (C=64: the other clients): it leaves its
/// sessions listed and posts one flush, which runs once the round's reads are handled, so
/// that their requests share one write and one TLS record on the link they go to (with a
/// flush per Batch, C=64 cost one record per request and twice the CPU per request in
/// bench/compare). Why not post that flush always: Asio runs its reactor (an epoll_wait
/// that returns at once) before a handler posted from a handler, so at C=1 the posted flush
/// cost one more system call and scheduler turn per wake-up for nothing (bench/README).
/// A wrong guess either way costs only batching: one more write, or one more turn.
class OutputFlusher final : public asio::execution_context::service {
public:
    static inline asio::execution_context::id id;

    explicit OutputFlusher(asio::execution_context& context)
        : asio::execution_context::service(context),
          io_(static_cast<asio::io_context&>(context)) {}

    /// The flusher of the io_context that `executor` runs on.
    template <class Executor>
    static OutputFlusher& of(const Executor& executor) {
        return asio::use_service<OutputFlusher>(
            asio::query(executor, asio::execution::context));
    }

    /// Lists `target` (which has output queued); posts a flush on `executor` unless a Batch
    /// is open or a flush is already posted.
    template <class Executor>
    void add(const Executor& executor, FlushEntry target) {
        (void)executor;
        list_.push_back(std::move(target));
        if (depth_ == 0) {
            post_flush();
        }
    }

    using clock = std::chrono::steady_clock;
    /// A Batch that starts this long after the last one ended is the first of its round.
    static constexpr std::chrono::microseconds default_round_gap{20};

    /// While one is alive, listed sessions wait; the last one to end flushes them all, or
    /// leaves them to the round's posted flush (see the class comment).
    class Batch {
    public:
        explicit Batch(OutputFlusher& f) : f_(f) {
            if (f_.depth_++ == 0) {
                f_.alone_ = clock::now() - f_.last_end_ >= f_.round_gap_;
            }
        }
        ~Batch() {
            if (--f_.depth_ > 0) {
                return;
            }
            if (!f_.posted_) {
                if (f_.alone_) {
                    f_.flush_all();
                } else if (!f_.list_.empty()) {
                    f_.post_flush(); // closes the round (see the class comment)
                }
            }
            f_.last_end_ = clock::now();
        }
        Batch(const Batch&) = delete;
        Batch& operator=(const Batch&) = delete;

    private:
        OutputFlusher& f_;
    };

    /// Sessions listed now (for tests).
    [[nodiscard]] std::size_t listed() const { return list_.size(); }
    /// Whether a flush is posted (for tests).
    [[nodiscard]] bool posted() const { return posted_; }
    /// Sets the gap that starts a round (tests: a slow build must not split a round).
    void set_round_gap(std::chrono::microseconds gap) { round_gap_ = gap; }

private:
    void shutdown() override { list_.clear(); }

    void post_flush() {
        if (posted_) {
            return;
        }
        posted_ = true;
        asio::post(io_, [this] {
            posted_ = false;
            flush_all();
        });
    }

    /// Whether anything was listed.
    bool flush_all() {
        // A flush may complete a write at once and its callbacks queue more output (listed
        // again): keep going until the list stays empty. The flushing runs as a Batch, so
        // what those callbacks queue is flushed here, not posted.
        bool any = !list_.empty();
        ++depth_;
        while (!list_.empty()) {
            swap_.swap(list_);
            for (auto& target : swap_) {
                target.flush(target.object);
            }
            swap_.clear();
        }
        --depth_;
        return any;
    }

    std::vector<FlushEntry> list_;
    std::vector<FlushEntry> swap_; ///< the round being flushed
    asio::io_context& io_;
    clock::time_point last_end_{}; ///< when the last outermost Batch ended
    std::chrono::microseconds round_gap_ = default_round_gap;
    int depth_ = 0;
    bool posted_ = false;
    bool alone_ = true; ///< the outermost Batch started after a quiet gap
};

} // namespace lon::link
