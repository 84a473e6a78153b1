#include "reload_result.hpp"

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "file_write.hpp"

namespace lon::link {

void write_reload_result(const Config& config, std::string_view daemon, const std::string& error) {
    static unsigned long count = 0; // one parent per process: HUPs handled so far
    ++count;
    std::string reason = error;
    for (char& c : reason) {
        if (c == '\n' || c == '\r') {
            c = ' '; // one line: loncontrol reads the first
        }
    }
    std::string line = std::to_string(::getpid()) + " " + std::to_string(count) + " " +
                       (error.empty() ? "reloaded " + config.file.string() : "refused: " + reason) +
                       "\n";
    auto file = config.paths.run_dir / (std::string(daemon) + ".reload");
    if (!write_file_atomic(file, line)) {
        spdlog::warn("cannot write {}: {}", file.string(), std::strerror(errno));
    }
}

} // namespace lon::link
