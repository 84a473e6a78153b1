#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lon::lond {

/// The peer's durable requests that this host has run, one file per id under
/// state_dir/critical/<peer>/<id> holding the reply. A repeated id is answered from the
/// record (or, while the first run is still under way, together with it), so a request that
/// lonc resends after a lost reply runs at most once.
class CriticalLog final {
public:
    using ReplyFn = std::function<void(std::string)>;
    using RunFn = std::function<void(ReplyFn)>;

    explicit CriticalLog(std::filesystem::path dir) : dir_(std::move(dir)) {}

    /// Answers `reply` for request `id`: from the record, or by calling `run` once and
    /// recording its reply durably before answering.
    void run_once(const std::string& id, const RunFn& run, ReplyFn reply);

private:
    std::filesystem::path dir_;
    std::map<std::string, std::vector<ReplyFn>> running_;
};

} // namespace lon::lond
