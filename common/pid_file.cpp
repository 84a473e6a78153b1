#include "pid_file.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "unique_fd.hpp"

namespace lon {
namespace {

bool alive(pid_t pid) {
    return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

bool write_pid(int fd) {
    std::string text = std::to_string(::getpid()) + "\n";
    return ::ftruncate(fd, 0) == 0 &&
           ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
}

} // namespace

std::optional<pid_t> read_pid_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    long pid = 0;
    if (!(in >> pid) || pid <= 0) {
        return std::nullopt;
    }
    return static_cast<pid_t>(pid);
}

PidFile::PidFile(std::filesystem::path path) : path_(std::move(path)) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (fd) {
            if (!write_pid(fd.get())) {
                throw std::runtime_error("cannot write " + path_.string() + ": " +
                                         std::strerror(errno));
            }
            owner_ = ::getpid();
            return;
        }
        if (errno != EEXIST) {
            throw std::runtime_error("cannot create " + path_.string() + ": " +
                                     std::strerror(errno));
        }
        auto pid = read_pid_file(path_);
        if (pid && alive(*pid)) {
            throw std::runtime_error("already running (pid " + std::to_string(*pid) + ", " +
                                     path_.string() + ")");
        }
        ::unlink(path_.c_str()); // stale: its process is gone
    }
    throw std::runtime_error("cannot create " + path_.string() + ": raced with another start");
}

PidFile::PidFile(PidFile&& other) noexcept
    : path_(std::move(other.path_)), owner_(std::exchange(other.owner_, -1)) {}

PidFile::~PidFile() {
    if (owner_ == ::getpid()) {
        ::unlink(path_.c_str());
    }
}

void PidFile::rewrite() {
    UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || !write_pid(fd.get())) {
        throw std::runtime_error("cannot rewrite " + path_.string() + ": " + std::strerror(errno));
    }
    owner_ = ::getpid();
}

namespace {

/// Writes `content` to a temp file beside `path` and renames it over `path`; when `durable`,
/// the data is fsync'ed before the rename and the folder after it.
bool replace_file(const std::filesystem::path& path, std::string_view content, mode_t mode,
                  bool durable) {
    std::string tmp = path.string() + ".tmp." + std::to_string(::getpid());
    auto fail = [&tmp] {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        return false;
    };
    {
        UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
        if (!fd) {
            return false;
        }
        std::size_t off = 0;
        while (off < content.size()) {
            ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return fail();
            }
            off += static_cast<std::size_t>(n);
        }
        if (durable && ::fsync(fd.get()) != 0) {
            return fail();
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return fail();
    }
    if (!durable) {
        return true;
    }
    UniqueFd dir(::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return dir && ::fsync(dir.get()) == 0;
}

} // namespace

bool write_file_atomic(const std::filesystem::path& path, std::string_view content) {
    return replace_file(path, content, 0644, false);
}

bool write_file_durable(const std::filesystem::path& path, std::string_view content) {
    return replace_file(path, content, 0600, true);
}

} // namespace lon
