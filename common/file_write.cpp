#include "file_write.hpp"

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unique_fd.hpp"

namespace lon {
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
