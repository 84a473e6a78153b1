#pragma once

#include <filesystem>
#include <string>

namespace lon {

/// Makes the spdlog default logger "<name>" write (synchronously) to `file` (appending,
/// created with its folder if missing) and, when `to_stderr`, to stderr as well.
/// Pattern: "[time] [name pid] [level] message". Throws std::runtime_error if the file
/// cannot be opened. Call again after exec/fork in each process role.
void init_logging(const std::string& name, const std::filesystem::path& file, bool to_stderr);

/// Flushes the default logger (before fork, before exit).
void flush_logs();

} // namespace lon
