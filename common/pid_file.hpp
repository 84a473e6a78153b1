#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include <sys/types.h>

namespace lon {

/// A pid file owned by the process that created it: created exclusively (a stale file whose
/// pid is not alive is replaced), removed on destruction only by the owning pid (so a forked
/// child holding a copy never removes it).
class PidFile final {
public:
    /// Throws std::runtime_error if another live process holds `path`.
    explicit PidFile(std::filesystem::path path);
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;
    PidFile(PidFile&&) noexcept;
    PidFile& operator=(PidFile&&) = delete;
    ~PidFile();

    /// Rewrites the file with the current pid (after daemonizing).
    void rewrite();
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    pid_t owner_ = -1;
};

/// The pid recorded in `path` if the file exists and parses, else nullopt.
[[nodiscard]] std::optional<pid_t> read_pid_file(const std::filesystem::path& path);

/// Writes `content` to `path` atomically (temp file in the same folder + rename).
/// Returns false on failure (errno kept).
bool write_file_atomic(const std::filesystem::path& path, std::string_view content);

} // namespace lon

namespace lon {

/// Like write_file_atomic, but durable: the data and the rename are fsync'ed (file, then its
/// folder) before it returns true, so the file survives a crash or power loss.
bool write_file_durable(const std::filesystem::path& path, std::string_view content);

} // namespace lon
