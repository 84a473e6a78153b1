#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <asio.hpp>

#include "durable_writer.hpp"

namespace lon::lond {

/// The peer's durable requests, one record per id under state_dir/critical/<peer>/<id>
/// (proto/critical.hpp): "started" is written durably before the request runs, then the
/// reply before it is answered. A repeated id is answered from the record (or, while the
/// first run is still under way, together with it); an id that started but has no reply on
/// record (lond died during the run) is answered error:indeterminate and never run again. So
/// a request runs at most once, and exactly once unless lond dies while it runs.
/// Records go when lonc acknowledges the id (critical_ack) or, never acknowledged, once
/// older than lond.critical_retention. The fsyncs run on one worker thread (DurableWriter).
class CriticalLog final {
public:
    using ReplyFn = std::function<void(std::string)>;
    using RunFn = std::function<void(ReplyFn)>;
    using CountFn = std::function<void(std::string_view what, std::uint64_t n)>;

    CriticalLog(asio::io_context& io, std::filesystem::path dir,
                std::chrono::milliseconds retention, CountFn count);

    /// Removes records older than the retention now, and again every so often.
    void start();
    /// Answers `reply` for request `id`: from the record, or by recording the start, calling
    /// `run` once and recording its reply durably before answering.
    void run_once(const std::string& id, const RunFn& run, ReplyFn reply);
    /// critical_ack: lonc is done with these ids; their records are deleted (ids still
    /// running, or without a record, are left alone). Returns how many were deleted.
    std::size_t forget(const std::vector<std::string_view>& ids);
    /// Deletes the records last written before `now - retention`. Returns how many.
    std::size_t expire(std::filesystem::file_time_type now);

private:
    void finish(const std::string& id, const std::string& result);
    void arm_expiry();

    std::filesystem::path dir_;
    std::chrono::milliseconds retention_;
    CountFn count_;
    link::DurableWriter writer_;
    asio::steady_timer expiry_timer_;
    std::map<std::string, std::vector<ReplyFn>> running_;
};

} // namespace lon::lond
