#include "critical_log.hpp"

#include <fstream>
#include <iterator>

#include <spdlog/spdlog.h>

#include "pid_file.hpp"

namespace lon::lond {

void CriticalLog::run_once(const std::string& id, const RunFn& run, ReplyFn reply) {
    auto record = dir_ / id;
    if (std::ifstream in{record}; in) {
        reply(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
        return;
    }
    if (auto it = running_.find(id); it != running_.end()) {
        it->second.push_back(std::move(reply)); // a resend while the first run is under way
        return;
    }
    running_[id].push_back(std::move(reply));
    run([this, id, record](std::string result) {
        std::error_code ec;
        std::filesystem::create_directories(dir_, ec);
        if (!write_file_durable(record, result)) {
            // Still answered; a resend after a crash could then run it again: say so loudly.
            spdlog::error("cannot record durable request {} under {}", id, dir_.string());
        }
        auto waiters = std::move(running_[id]);
        running_.erase(id);
        for (auto& w : waiters) {
            w(result);
        }
    });
}

} // namespace lon::lond
