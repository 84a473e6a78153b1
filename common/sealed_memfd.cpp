#include "sealed_memfd.hpp"

#include <cerrno>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lon {
namespace {

constexpr int required_seals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;

std::error_code last_error() {
    return {errno, std::system_category()};
}

} // namespace

UniqueFd make_sealed_memfd(const char* name, std::string_view bytes, std::error_code& ec) {
    UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) {
        ec = last_error();
        return {};
    }
    ::fchmod(fd.get(), 0400); // a reopen through /proc/<pid>/fd needs the owner (or root)
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ec = last_error();
            return {};
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fcntl(fd.get(), F_ADD_SEALS, required_seals) != 0) {
        ec = last_error();
        return {};
    }
    ec.clear();
    return fd;
}

std::string read_sealed_memfd(int fd, std::size_t max_bytes, std::error_code& ec) {
    int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0) {
        ec = last_error();
        return {};
    }
    if ((seals & required_seals) != required_seals) {
        ec = std::make_error_code(std::errc::operation_not_permitted);
        return {};
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ec = last_error();
        return {};
    }
    if (st.st_size < 0 || static_cast<std::size_t>(st.st_size) > max_bytes) {
        ec = std::make_error_code(std::errc::file_too_large);
        return {};
    }
    std::string out(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ec = n == 0 ? std::make_error_code(std::errc::io_error) : last_error();
            return {};
        }
        done += static_cast<std::size_t>(n);
    }
    ec.clear();
    return out;
}

} // namespace lon
