#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <regex>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "log.hpp"
#include "temp_dir.hpp"

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Puts the previous default logger back, so later tests do not log into a removed folder.
class KeepDefaultLogger {
public:
    KeepDefaultLogger() : saved_(spdlog::default_logger()) {}
    KeepDefaultLogger(const KeepDefaultLogger&) = delete;
    KeepDefaultLogger& operator=(const KeepDefaultLogger&) = delete;
    ~KeepDefaultLogger() { spdlog::set_default_logger(saved_); }

private:
    std::shared_ptr<spdlog::logger> saved_;
};

} // namespace

TEST_CASE("init_logging: creates the folder, appends lines in the documented pattern",
          "[common]") {
    KeepDefaultLogger keep;
    TempDir dir;
    auto file = dir.path() / "log" / "deeper" / "lond.log";
    {
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << "earlier line\n";
    }
    lon::init_logging("lond[msul2]", file, false);
    spdlog::info("hello {}", 42);
    spdlog::debug("not shown at the default level");
    spdlog::warn("careful");
    // flush_on(info): the lines are in the file without an explicit flush.
    std::string text = slurp(file);
    CHECK(text.rfind("earlier line\n", 0) == 0); // appended, not truncated
    std::string pid = std::to_string(::getpid());
    std::regex line(R"(\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[lond\[msul2\] )" + pid +
                    R"(\] \[info\] hello 42\n)");
    CHECK(std::regex_search(text, line));
    CHECK(text.find("[warning] careful\n") != std::string::npos);
    CHECK(text.find("not shown") == std::string::npos);
    CHECK(spdlog::default_logger()->name() == "lond[msul2]");
    lon::flush_logs();
}

TEST_CASE("init_logging: a file that cannot be opened is a runtime_error", "[common]") {
    KeepDefaultLogger keep;
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "log.d");
    // The path names a folder, so the file sink cannot open it.
    CHECK_THROWS_AS(lon::init_logging("lonc", dir.path() / "log.d", false), std::runtime_error);
}

TEST_CASE("reopen_logs: after a rename the next lines go to a new file of the same name",
          "[common][logs]") {
    KeepDefaultLogger keep;
    TempDir dir;
    auto file = dir.path() / "lonc.log";
    lon::init_logging("lonc", file, false);
    spdlog::info("before");
    std::filesystem::rename(file, dir.path() / "lonc.log.1");
    lon::reopen_logs();
    spdlog::info("after");
    CHECK(slurp(dir.path() / "lonc.log.1").find("before") != std::string::npos);
    CHECK(slurp(dir.path() / "lonc.log.1").find("after") == std::string::npos);
    CHECK(slurp(file).find("after") != std::string::npos);
}

TEST_CASE("reopen_logs: a file that cannot be opened again keeps the old one written",
          "[common][logs]") {
    KeepDefaultLogger keep;
    TempDir dir;
    auto folder = dir.path() / "log";
    std::filesystem::create_directories(folder);
    lon::init_logging("lonc", folder / "lonc.log", false);
    std::filesystem::rename(folder, dir.path() / "gone");
    std::ofstream(folder) << "a file where the folder was\n"; // the name cannot be opened
    lon::reopen_logs();
    spdlog::info("still logged");
    CHECK(slurp(dir.path() / "gone" / "lonc.log").find("still logged") != std::string::npos);
}

TEST_CASE("init_logging: log.level filters; target stderr writes no file", "[common][logs]") {
    KeepDefaultLogger keep;
    TempDir dir;
    auto file = dir.path() / "lond.log";
    lon::init_logging("lond", file, false, {lon::LogTarget::file, "warning"});
    spdlog::info("left out");
    spdlog::warn("kept");
    CHECK(slurp(file).find("left out") == std::string::npos);
    CHECK(slurp(file).find("kept") != std::string::npos);
    auto other = dir.path() / "none.log";
    lon::init_logging("lond", other, false, {lon::LogTarget::stderr_stream, "info"});
    CHECK(spdlog::default_logger()->sinks().size() == 1);
    CHECK_FALSE(std::filesystem::exists(other));
    lon::init_logging("lond", other, true, {lon::LogTarget::syslog, "debug"}, "lond");
    CHECK(spdlog::default_logger()->sinks().size() == 2); // syslog and --foreground's stderr
    CHECK(spdlog::default_logger()->level() == spdlog::level::debug);
    CHECK_FALSE(std::filesystem::exists(other));
    CHECK(lon::valid_log_level("warn"));
    CHECK(lon::valid_log_level("critical"));
    CHECK_FALSE(lon::valid_log_level("loud"));
}
