#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>

#include <asio.hpp>

namespace lon::link {

/// Bounds work of one kind that runs asynchronously (lond's handler requests): at most
/// `max_running` jobs at once, at most `max_queued` more waiting in FIFO order; beyond that a
/// job is refused. Independent of what the job does: lond's jobs hand their request to the
/// HandlerPool, and a job's slot is held until its reply is handed on.
///
/// A running job holds a Slot (shared); the slot is released when its last copy is
/// destroyed, i.e. when the job's completion handler has run and been dropped. The next
/// queued job is then started through asio::post, never from inside the releasing code.
class RequestLimiter final {
public:
    class Slot;
    using SlotPtr = std::shared_ptr<Slot>;
    using Job = std::function<void(SlotPtr)>;
    enum class Admission { started, queued, refused };

    RequestLimiter(asio::io_context& io, std::size_t max_running, std::size_t max_queued);
    RequestLimiter(const RequestLimiter&) = delete;
    RequestLimiter& operator=(const RequestLimiter&) = delete;
    ~RequestLimiter();

    /// Starts `job` now (started), keeps it for later (queued) or drops it (refused: the
    /// caller answers for it). A started job is called before submit returns.
    Admission submit(Job job);
    /// A slot for a job the caller runs itself, now: given when submit would start a job at
    /// once (a place free, nothing waiting), else nullptr (then submit). Why: most requests
    /// find room, and for them a Job object (with what it captures) is an allocation and a
    /// copy per request for nothing.
    [[nodiscard]] SlotPtr try_start();

    /// New bounds (after a reload); running and queued jobs are kept.
    void set_limits(std::size_t max_running, std::size_t max_queued);

    [[nodiscard]] std::size_t running() const;
    [[nodiscard]] std::size_t queued() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

/// Held by a running job; releases its place when destroyed.
class RequestLimiter::Slot final {
public:
    explicit Slot(std::weak_ptr<State> state) : state_(std::move(state)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

private:
    std::weak_ptr<State> state_;
};

} // namespace lon::link
