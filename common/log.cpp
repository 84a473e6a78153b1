#include "log.hpp"

#include <array>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <spdlog/details/file_helper.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

namespace lon {
namespace {

/// A file sink that can reopen its file by name: spdlog's basic_file_sink keeps the file it
/// opened first, so after logrotate renamed it every line would go on into the old file.
/// Single-threaded (null_mutex), like every sink of ours.
class ReopenableFileSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
public:
    explicit ReopenableFileSink(std::string file) : name_(std::move(file)), helper_(open(name_)) {}
    /// The new file replaces the old one only once it is open: a failed open (a full disk,
    /// a folder gone) keeps the old file rather than leaving no file at all. Throws
    /// spdlog_ex on failure.
    void reopen() {
        auto fresh = open(name_);
        helper_->flush();
        helper_ = std::move(fresh);
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t formatted;
        formatter_->format(msg, formatted);
        helper_->write(formatted);
    }
    void flush_() override { helper_->flush(); }

private:
    static std::unique_ptr<spdlog::details::file_helper> open(const std::string& name) {
        auto h = std::make_unique<spdlog::details::file_helper>();
        h->open(name, false); // append
        return h;
    }
    std::string name_;
    std::unique_ptr<spdlog::details::file_helper> helper_;
};

constexpr std::array<std::string_view, 9> level_names = {
    "trace", "debug", "info", "warning", "warn", "error", "err", "critical", "off"};

} // namespace

bool valid_log_level(const std::string& name) {
    for (auto n : level_names) {
        if (n == name) {
            return true;
        }
    }
    return false;
}

const char* log_target_name(LogTarget target) {
    switch (target) {
    case LogTarget::file:
        return "file";
    case LogTarget::syslog:
        return "syslog";
    case LogTarget::stderr_stream:
        return "stderr";
    }
    return "file";
}

void init_logging(const std::string& name, const std::filesystem::path& file, bool to_stderr,
                  const LogSettings& settings, const char* ident) {
    // Synchronous single-threaded sinks: no logger threads to lose across fork/exec. Every
    // process of a daemon appends to the same file (O_APPEND keeps lines whole).
    std::vector<spdlog::sink_ptr> sinks;
    const char* pattern = "[%Y-%m-%d %H:%M:%S.%e] [%n %P] [%l] %v";
    switch (settings.target) {
    case LogTarget::file:
        if (file.has_parent_path()) {
            std::filesystem::create_directories(file.parent_path()); // throws filesystem_error
        }
        try {
            sinks.push_back(std::make_shared<ReopenableFileSink>(file.string()));
        } catch (const spdlog::spdlog_ex& e) {
            // spdlog_ex is no std::runtime_error; callers catch the documented type.
            throw std::runtime_error(e.what());
        }
        break;
    case LogTarget::syslog:
        // Facility daemon, ident = the process name, the pid in every line (LOG_PID); syslog
        // adds the time, so the pattern leaves it out. The sink only logs, it never throws.
        sinks.push_back(std::make_shared<spdlog::sinks::syslog_sink_st>(ident, LOG_PID,
                                                                        LOG_DAEMON, false));
        pattern = "[%n] [%l] %v";
        break;
    case LogTarget::stderr_stream:
        to_stderr = true; // once, whatever --foreground says
        break;
    }
    if (to_stderr) {
        sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_st>());
    }
    auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
    logger->set_pattern(pattern);
    logger->set_level(spdlog::level::from_str(settings.level));
    logger->flush_on(spdlog::level::trace); // every line at once: children share the file
    spdlog::set_default_logger(logger);
}

void reopen_logs() {
    auto logger = spdlog::default_logger();
    if (!logger) {
        return;
    }
    for (const auto& sink : logger->sinks()) {
        if (auto* f = dynamic_cast<ReopenableFileSink*>(sink.get())) {
            try {
                f->reopen();
            } catch (const spdlog::spdlog_ex& e) {
                // Once per HUP: no flood. The old file stays open and written.
                spdlog::error("cannot reopen the log file: {}", e.what());
            }
        }
    }
}

void flush_logs() {
    if (auto l = spdlog::default_logger()) {
        l->flush();
    }
}

} // namespace lon
