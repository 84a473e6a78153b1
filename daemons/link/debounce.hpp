#pragma once

#include <chrono>
#include <functional>
#include <system_error>

#include <asio.hpp>

namespace lon::link {

/// Runs `action` at most once per `delay` however often it is requested: the first request
/// arms a timer, later ones before it fires are folded into that run. Used to rewrite status
/// files after counters change, so a flood of limit hits costs one write a second, not one
/// per event. cancel() drops a pending run (shutdown).
class Debounce final {
public:
    Debounce(asio::io_context& io, std::chrono::milliseconds delay, std::function<void()> action)
        : timer_(io), delay_(delay), action_(std::move(action)) {}

    void request() {
        if (due_ || cancelled_) {
            return;
        }
        due_ = true;
        timer_.expires_after(delay_);
        timer_.async_wait([this](std::error_code ec) {
            due_ = false;
            if (!ec && !cancelled_) {
                action_();
            }
        });
    }

    void cancel() {
        cancelled_ = true;
        timer_.cancel();
    }

private:
    asio::steady_timer timer_;
    std::chrono::milliseconds delay_;
    std::function<void()> action_;
    bool due_ = false;
    bool cancelled_ = false;
};

} // namespace lon::link
