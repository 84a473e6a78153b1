#include "request_limiter.hpp"

#include <utility>

namespace lon::link {

struct RequestLimiter::State : std::enable_shared_from_this<State> {
    asio::io_context& io;
    std::size_t max_running;
    std::size_t max_queued;
    std::size_t running = 0;
    std::deque<Job> queue;

    State(asio::io_context& i, std::size_t r, std::size_t q) : io(i), max_running(r), max_queued(q) {}

    /// Starts queued jobs while there is room, each in its own handler.
    void start_queued() {
        while (running < max_running && !queue.empty()) {
            Job job = std::move(queue.front());
            queue.pop_front();
            ++running;
            asio::post(io, [weak = weak_from_this(), job = std::move(job)] {
                if (auto s = weak.lock()) {
                    job(std::make_shared<Slot>(weak));
                }
            });
        }
    }
};

RequestLimiter::Slot::~Slot() {
    if (auto s = state_.lock()) {
        if (s->running > 0) {
            --s->running;
        }
        s->start_queued();
    }
}

RequestLimiter::RequestLimiter(asio::io_context& io, std::size_t max_running,
                               std::size_t max_queued)
    : state_(std::make_shared<State>(io, max_running == 0 ? 1 : max_running, max_queued)) {}

RequestLimiter::~RequestLimiter() = default;

RequestLimiter::Admission RequestLimiter::submit(Job job) {
    if (auto slot = try_start()) {
        job(std::move(slot));
        return Admission::started;
    }
    State& s = *state_;
    if (s.queue.size() < s.max_queued) {
        s.queue.push_back(std::move(job));
        return Admission::queued;
    }
    return Admission::refused;
}

RequestLimiter::SlotPtr RequestLimiter::try_start() {
    State& s = *state_;
    if (s.running < s.max_running && s.queue.empty()) {
        ++s.running;
        return std::make_shared<Slot>(s.weak_from_this());
    }
    return nullptr;
}

void RequestLimiter::set_limits(std::size_t max_running, std::size_t max_queued) {
    state_->max_running = max_running == 0 ? 1 : max_running;
    state_->max_queued = max_queued;
    state_->start_queued();
}

std::size_t RequestLimiter::running() const {
    return state_->running;
}

std::size_t RequestLimiter::queued() const {
    return state_->queue.size();
}

} // namespace lon::link
