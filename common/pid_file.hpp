#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include <sys/types.h>

#include "unique_fd.hpp"

namespace lon {

/// A pid file held by the running daemon: it keeps the file open (close-on-exec) with an
/// exclusive flock for its whole life, so exactly one of two daemons started at once gets
/// it, a file left by a dead process never blocks a start (whatever pid it names, even one
/// reused by an unrelated process after a reboot) and a live holder always does. Removed on
/// destruction only by the owning pid (so a forked child holding a copy never removes it).
/// Children exec'd by the daemon do not inherit the lock (the descriptor is close-on-exec).
class PidFile final {
public:
    /// Throws std::runtime_error ("already running (pid N holds <path>)") if another process
    /// holds the lock on `path`.
    explicit PidFile(std::filesystem::path path);
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;
    PidFile(PidFile&&) noexcept;
    PidFile& operator=(PidFile&&) = delete;
    ~PidFile();

    /// Rewrites the file with the current pid (after daemonizing: the lock is shared with
    /// the forked daemon, which keeps it when the starter exits).
    void rewrite();
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    UniqueFd fd_; ///< open and locked for the life of the owner
    pid_t owner_ = -1;
};

/// The pid recorded in `path` if the file exists and parses, else nullopt.
[[nodiscard]] std::optional<pid_t> read_pid_file(const std::filesystem::path& path);

} // namespace lon
