#pragma once

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <asio.hpp>

namespace lon::link {

/// Durable file writes and removals off the event loop: ONE worker thread does the write,
/// fsync, rename and unlink system calls and fsyncs each folder once per batch (group commit:
/// everything queued while the previous batch was syncing shares its folder fsync). The
/// worker touches no Asio object: it wakes the loop through an eventfd that the loop reads,
/// and completions run on the loop thread, in submission order. The thread starts with the
/// first job (a process that never writes has none) and is joined by the destructor, which
/// drops the completions still due.
class DurableWriter final {
public:
    using Done = std::function<void(bool ok)>;

    explicit DurableWriter(asio::io_context& io);
    DurableWriter(const DurableWriter&) = delete;
    DurableWriter& operator=(const DurableWriter&) = delete;
    ~DurableWriter();

    /// Replaces `path` with `content` (temp file, fsync, rename, folder fsync), mode 0600;
    /// then `done(true)`, or `done(false)` if any step failed (the worker logs nothing: the
    /// caller says what failed).
    void write(std::filesystem::path path, std::string content, Done done);
    /// Unlinks `path` and fsyncs its folder; done(true) also when it was already gone.
    void remove(std::filesystem::path path, Done done);
    /// Jobs submitted whose completion has not run yet.
    [[nodiscard]] std::size_t pending() const { return pending_; }

private:
    struct Job {
        std::filesystem::path path;
        std::string content;
        bool remove = false;
        Done done;
        bool ok = false;
    };

    void submit(Job job);
    void run_worker();
    void do_wait();
    void on_wake();

    asio::posix::stream_descriptor wake_; ///< eventfd: the worker writes, the loop reads
    int wake_fd_ = -1; ///< the same eventfd, for the worker (which touches no Asio object)
    std::uint64_t wake_buf_ = 0;
    bool waiting_ = false;
    std::mutex m_;
    std::condition_variable cv_;
    std::vector<Job> todo_;     ///< guarded by m_
    std::vector<Job> finished_; ///< guarded by m_
    bool stop_ = false;         ///< guarded by m_
    std::size_t pending_ = 0;   ///< loop thread only
    std::thread worker_;
};

} // namespace lon::link
