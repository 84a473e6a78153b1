#pragma once

#include <filesystem>
#include <string>

namespace lon {

/// Where a daemon's lines go (config `log.target`).
enum class LogTarget { file, syslog, stderr_stream };

/// The `log:` section of the config.
struct LogSettings {
    LogTarget target = LogTarget::file;
    /// One of spdlog's level names (trace, debug, info, warning/warn, error/err, critical, off).
    std::string level = "info";
};

/// True when `name` is one of spdlog's level names (what `log.level` accepts).
[[nodiscard]] bool valid_log_level(const std::string& name);
/// "file", "syslog" or "stderr".
[[nodiscard]] const char* log_target_name(LogTarget target);

/// Makes the spdlog default logger "<name>" write (synchronously) where `settings` says:
/// target file: to `file` (appending, created with its folder if missing), and to stderr as
/// well when `to_stderr` (--foreground); target stderr: to stderr only; target syslog: to
/// syslog(3) with ident `ident` (the process name), facility daemon and the pid, and to
/// stderr as well when `to_stderr`. Lines below `settings.level` are left out.
/// Pattern: "[time] [name pid] [level] message" (syslog: "[name] [level] message", syslog
/// adds time and pid). Throws std::runtime_error if the file cannot be opened. Call again
/// after exec in each process role.
void init_logging(const std::string& name, const std::filesystem::path& file, bool to_stderr,
                  const LogSettings& settings = {}, const char* ident = "lonlink");

/// Reopens the log file by its name (after logrotate renamed it: the next line goes to a
/// new file). Nothing to do for stderr or syslog. Logs (error) when it cannot, and keeps
/// writing to the file it had.
void reopen_logs();

/// Flushes the default logger (before fork, before exit).
void flush_logs();

} // namespace lon
