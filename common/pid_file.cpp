#include "pid_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lon {
namespace {

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
    for (int attempt = 0; attempt < 8; ++attempt) {
        UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
        if (!fd) {
            throw std::runtime_error("cannot create " + path_.string() + ": " +
                                     std::strerror(errno));
        }
        int rc;
        do {
            rc = ::flock(fd.get(), LOCK_EX | LOCK_NB);
        } while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            if (errno != EWOULDBLOCK) {
                throw std::runtime_error("cannot lock " + path_.string() + ": " +
                                         std::strerror(errno));
            }
            auto pid = read_pid_file(path_);
            throw std::runtime_error(
                "already running (" +
                (pid ? "pid " + std::to_string(*pid) + " holds " : std::string("locked: ")) +
                path_.string() + ")");
        }
        // The file we locked must still be the one at the path: its owner may have removed
        // it (stopping) between our open and our lock; then start over with a fresh file.
        struct stat held {};
        struct stat named {};
        if (::fstat(fd.get(), &held) != 0) {
            throw std::runtime_error("cannot stat " + path_.string() + ": " +
                                     std::strerror(errno));
        }
        if (::stat(path_.c_str(), &named) != 0 || held.st_dev != named.st_dev ||
            held.st_ino != named.st_ino) {
            continue;
        }
        if (!write_pid(fd.get())) {
            throw std::runtime_error("cannot write " + path_.string() + ": " +
                                     std::strerror(errno));
        }
        fd_ = std::move(fd);
        owner_ = ::getpid();
        return;
    }
    throw std::runtime_error("cannot create " + path_.string() + ": raced with another start");
}

PidFile::PidFile(PidFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::move(other.fd_)),
      owner_(std::exchange(other.owner_, -1)) {}

PidFile::~PidFile() {
    if (owner_ == ::getpid()) {
        // Removed while still locked: a start that opened this file meanwhile sees that it
        // is no longer the one at the path and starts over.
        ::unlink(path_.c_str());
    }
}

void PidFile::rewrite() {
    if (!fd_ || !write_pid(fd_.get())) {
        throw std::runtime_error("cannot rewrite " + path_.string() + ": " + std::strerror(errno));
    }
    owner_ = ::getpid();
}

} // namespace lon
