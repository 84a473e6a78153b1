#include "log.hpp"

#include <memory>
#include <stdexcept>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace lon {

void init_logging(const std::string& name, const std::filesystem::path& file, bool to_stderr) {
    if (file.has_parent_path()) {
        std::filesystem::create_directories(file.parent_path()); // throws filesystem_error
    }
    // Synchronous single-threaded sinks: no logger threads to lose across fork/exec. Every
    // process of a daemon appends to the same file (O_APPEND keeps lines whole).
    std::vector<spdlog::sink_ptr> sinks;
    try {
        sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_st>(file.string(), false));
    } catch (const spdlog::spdlog_ex& e) {
        // spdlog_ex is no std::runtime_error; callers catch the documented type.
        throw std::runtime_error(e.what());
    }
    if (to_stderr) {
        sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_st>());
    }
    auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n %P] [%l] %v");
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

void flush_logs() {
    if (auto l = spdlog::default_logger()) {
        l->flush();
    }
}

} // namespace lon
