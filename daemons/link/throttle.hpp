#pragma once

#include <chrono>
#include <functional>
#include <system_error>

#include <asio.hpp>

namespace lon::link {

/// Runs `action` at most once per `gap`, and never sooner than `gap` after construction: a
/// request runs it at once when the last run (or the construction) is `gap` old, otherwise
/// when it is, folding the requests meanwhile into that run. Used for the status files: a
/// flood of counted events costs one write a second; a child that links within its first
/// second writes its file once, not once per change of its title (a new inode each time:
/// the file is replaced by a rename); a change after a quiet second reaches the file at
/// once. run_now() runs it at once whatever the gap (a parent's first write, an admin's
/// USR1, a reload); cancel() drops a pending run (shutdown).
class Throttle final {
public:
    using clock = std::chrono::steady_clock;

    Throttle(asio::io_context& io, std::chrono::milliseconds gap, std::function<void()> action)
        : timer_(io), gap_(gap), action_(std::move(action)), last_(clock::now()) {}

    void request() {
        if (cancelled_) {
            return;
        }
        pending_ = true;
        if (armed_) {
            return;
        }
        auto now = clock::now();
        if (now - last_ >= gap_) {
            run(now);
            return;
        }
        armed_ = true;
        timer_.expires_at(last_ + gap_);
        timer_.async_wait([this](std::error_code ec) {
            armed_ = false;
            // A run_now() meanwhile took what was pending: nothing left to write.
            if (!ec && !cancelled_ && pending_) {
                run(clock::now());
            }
        });
    }

    void run_now() {
        if (!cancelled_) {
            run(clock::now());
        }
    }

    void cancel() {
        cancelled_ = true;
        timer_.cancel();
    }

private:
    void run(clock::time_point now) {
        pending_ = false;
        last_ = now;
        action_();
    }

    asio::steady_timer timer_;
    std::chrono::milliseconds gap_;
    std::function<void()> action_;
    clock::time_point last_;
    bool pending_ = false;
    bool armed_ = false;
    bool cancelled_ = false;
};

} // namespace lon::link
