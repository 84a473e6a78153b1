#include "critical_log.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <spdlog/spdlog.h>

#include "critical.hpp"

namespace lon::lond {
namespace {

/// How often expired records are looked for: a quarter of the retention, within [1 s, 1 h].
std::chrono::milliseconds expiry_interval(std::chrono::milliseconds retention) {
    using namespace std::chrono;
    return std::clamp<milliseconds>(retention / 4, seconds(1), hours(1));
}

} // namespace

CriticalLog::CriticalLog(asio::io_context& io, std::filesystem::path dir,
                         std::chrono::milliseconds retention, CountFn count)
    : dir_(std::move(dir)), retention_(retention), count_(std::move(count)), writer_(io),
      expiry_timer_(io) {}

void CriticalLog::start() {
    expire(std::filesystem::file_time_type::clock::now());
    arm_expiry();
}

void CriticalLog::arm_expiry() {
    expiry_timer_.expires_after(expiry_interval(retention_));
    expiry_timer_.async_wait([this](std::error_code ec) {
        if (!ec) {
            expire(std::filesystem::file_time_type::clock::now());
            arm_expiry();
        }
    });
}

void CriticalLog::run_once(const std::string& id, const RunFn& run, ReplyFn reply) {
    if (auto it = running_.find(id); it != running_.end()) {
        it->second.push_back(std::move(reply)); // a resend while the first run is under way
        return;
    }
    auto record = dir_ / id;
    if (std::ifstream in{record}; in) {
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto r = proto::parse_record(text);
        if (r.state == proto::CriticalRecord::State::done) {
            reply(std::string(r.reply));
            return;
        }
        // Started by a lond that died before recording the outcome: it may or may not have
        // taken effect, and it must not run again.
        if (count_) {
            count_("critical_indeterminate", 1);
        }
        spdlog::warn("durable request {} started before lond stopped; its outcome is lost: "
                     "answered {}",
                     id, proto::indeterminate);
        reply(std::string(proto::indeterminate));
        return;
    }
    running_[id].push_back(std::move(reply));
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    writer_.write(record, proto::format_record_started(), [this, id, run](bool ok) {
        if (!ok) {
            // Not run: lonc keeps it spooled and asks again later.
            spdlog::error("cannot record durable request {} under {}; not running it", id,
                          dir_.string());
            auto waiters = std::move(running_[id]);
            running_.erase(id);
            for (auto& w : waiters) {
                w(std::string(proto::not_recorded));
            }
            return;
        }
        run([this, id](std::string result) { finish(id, result); });
    });
}

void CriticalLog::finish(const std::string& id, const std::string& result) {
    writer_.write(dir_ / id, proto::format_record_done(result), [this, id, result](bool ok) {
        if (!ok) {
            // Still answered; a resend will be answered error:indeterminate (never rerun).
            spdlog::error("cannot record the reply of durable request {} under {}", id,
                          dir_.string());
        }
        auto waiters = std::move(running_[id]);
        running_.erase(id);
        for (auto& w : waiters) {
            w(result);
        }
    });
}

std::size_t CriticalLog::forget(const std::vector<std::string_view>& ids) {
    std::size_t removed = 0;
    for (auto id : ids) {
        std::string name(id);
        if (running_.count(name) > 0) {
            continue;
        }
        // No fsync: a deletion lost in a crash leaves a record the retention removes later.
        std::error_code ec;
        removed += std::filesystem::remove(dir_ / name, ec) ? 1 : 0;
    }
    return removed;
}

std::size_t CriticalLog::expire(std::filesystem::file_time_type now) {
    std::error_code ec;
    std::size_t removed = 0;
    auto cutoff = now - retention_;
    for (auto it = std::filesystem::directory_iterator(dir_, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        std::error_code fec;
        auto written = it->last_write_time(fec);
        if (fec || written >= cutoff || running_.count(name) > 0) {
            continue;
        }
        if (std::filesystem::remove(it->path(), fec)) {
            ++removed;
        }
    }
    if (removed > 0) {
        if (count_) {
            count_("critical_expired", removed);
        }
        spdlog::info("removed {} durable request record(s) older than {} s, never acknowledged",
                     removed, retention_.count() / 1000);
    }
    return removed;
}

} // namespace lon::lond
