#include "durable_writer.hpp"

#include <cerrno>
#include <set>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "unique_fd.hpp"

namespace lon::link {
namespace {

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

/// The file's data is on disk and renamed into place; its folder is synced by the caller.
bool replace_synced(const std::filesystem::path& path, std::string_view content) {
    std::string tmp = path.string() + ".tmp." + std::to_string(::getpid());
    bool ok = false;
    {
        UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        ok = fd && write_all(fd.get(), content) && ::fsync(fd.get()) == 0;
    }
    ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
    if (!ok) {
        ::unlink(tmp.c_str());
    }
    return ok;
}

bool sync_dir(const std::filesystem::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return fd && ::fsync(fd.get()) == 0;
}

} // namespace

DurableWriter::DurableWriter(asio::io_context& io) : wake_(io) {}

DurableWriter::~DurableWriter() {
    {
        std::lock_guard<std::mutex> g(m_);
        stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) {
        worker_.join();
    }
}

void DurableWriter::write(std::filesystem::path path, std::string content, Done done) {
    submit(Job{std::move(path), std::move(content), false, std::move(done)});
}

void DurableWriter::remove(std::filesystem::path path, Done done) {
    submit(Job{std::move(path), {}, true, std::move(done)});
}

void DurableWriter::submit(Job job) {
    if (!worker_.joinable()) {
        int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        std::error_code ec;
        if (fd >= 0) {
            wake_.assign(fd, ec);
        }
        if (fd < 0 || ec) {
            if (fd >= 0) {
                ::close(fd);
            }
            // No eventfd (out of descriptors): fail this job; the next one tries again.
            asio::post(wake_.get_executor(), [done = std::move(job.done)] {
                if (done) {
                    done(false);
                }
            });
            return;
        }
        wake_fd_ = fd;
        worker_ = std::thread([this] { run_worker(); });
    }
    ++pending_;
    {
        std::lock_guard<std::mutex> g(m_);
        todo_.push_back(std::move(job));
    }
    cv_.notify_one();
    do_wait();
}

void DurableWriter::run_worker() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
        cv_.wait(lock, [this] { return stop_ || !todo_.empty(); });
        if (stop_) {
            return;
        }
        std::vector<Job> batch = std::move(todo_);
        todo_.clear();
        lock.unlock();
        std::set<std::filesystem::path> dirs;
        for (auto& job : batch) {
            if (job.remove) {
                job.ok = ::unlink(job.path.c_str()) == 0 || errno == ENOENT;
            } else {
                job.ok = replace_synced(job.path, job.content);
                job.content.clear();
            }
            dirs.insert(job.path.parent_path());
        }
        std::set<std::filesystem::path> failed;
        for (const auto& d : dirs) {
            if (!sync_dir(d)) {
                failed.insert(d);
            }
        }
        for (auto& job : batch) {
            job.ok = job.ok && failed.count(job.path.parent_path()) == 0;
        }
        lock.lock();
        for (auto& job : batch) {
            finished_.push_back(std::move(job));
        }
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }
}

void DurableWriter::do_wait() {
    if (waiting_ || pending_ == 0) {
        return;
    }
    waiting_ = true;
    wake_.async_wait(asio::posix::stream_descriptor::wait_read, [this](std::error_code ec) {
        if (ec == asio::error::operation_aborted) {
            return; // the writer is being destroyed: `this` may be gone
        }
        waiting_ = false;
        on_wake();
    });
}

void DurableWriter::on_wake() {
    [[maybe_unused]] auto n = ::read(wake_.native_handle(), &wake_buf_, sizeof wake_buf_);
    std::vector<Job> done;
    {
        std::lock_guard<std::mutex> g(m_);
        done = std::move(finished_);
        finished_.clear();
    }
    pending_ -= std::min(pending_, done.size());
    for (auto& job : done) {
        if (job.done) {
            job.done(job.ok);
        }
    }
    do_wait();
}

} // namespace lon::link
