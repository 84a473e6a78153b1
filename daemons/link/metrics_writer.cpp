#include "metrics_writer.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "file_write.hpp"

namespace lon::link {

MetricsWriter::MetricsWriter(asio::io_context& io, std::string daemon,
                             std::function<std::string()> render)
    : timer_(io), daemon_(std::move(daemon)), render_(std::move(render)) {}

std::filesystem::path MetricsWriter::file() const {
    return *dir_ / (daemon_ + ".prom");
}

void MetricsWriter::configure(const std::optional<std::filesystem::path>& dir) {
    if (dir == dir_) {
        return;
    }
    if (dir_) {
        std::error_code ignored;
        std::filesystem::remove(file(), ignored);
    }
    timer_.cancel();
    dir_ = dir;
    if (!dir_) {
        return;
    }
    std::error_code ec;
    std::filesystem::create_directories(*dir_, ec);
    if (ec) {
        spdlog::warn("metrics_dir {}: {}; {}.prom is written once it can be", dir_->string(),
                     ec.message(), daemon_);
    }
    tick();
}

void MetricsWriter::stop() {
    timer_.cancel();
    if (dir_) {
        std::error_code ignored;
        std::filesystem::remove(file(), ignored);
        dir_.reset();
    }
}

void MetricsWriter::arm() {
    timer_.expires_after(metrics_period);
    timer_.async_wait([this](std::error_code ec) {
        if (!ec && dir_) {
            tick();
        }
    });
}

void MetricsWriter::tick() {
    if (!write_file_atomic(file(), render_())) {
        // A folder that went away or filled up: said every ten minutes, not every period.
        if (auto n = log_throttle_.admit("write", std::chrono::steady_clock::now())) {
            spdlog::warn("cannot write {}: {}{}", file().string(), std::strerror(errno),
                         *n > 0 ? fmt::format(" ({} more failures)", *n) : "");
        }
    }
    arm();
}

std::optional<PeerMetrics> read_peer_status(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        return std::nullopt;
    }
    std::string line;
    std::getline(in, line); // one line, a few hundred bytes
    return parse_peer_status(line);
}

} // namespace lon::link
