#pragma once

#include <chrono>
#include <cstddef>

/// How many requests of a pipelined burst lond writes to one handler connection before the
/// next run of the burst takes another connection (PROTOCOL.md "Handler requests"). Pure: the
/// owner reports how long its connections took to answer, and asks for the run size.
namespace lon::proto {

/// Runs are sized so that the handler answers one in about `run_budget`, judged by how fast
/// it has been answering: a handler that serves its connections in parallel still gets a
/// slow burst spread over them (no run longer than it takes `run_budget` to answer), while a
/// fast handler gets a burst of up to max_run in one write and sends its replies back in one (every
/// run split off costs a wake-up of the handler and of lond, which is most of what a request
/// costs on the handler path: bench/README "Handler runs sized by the handler's pace").
class HandlerPace {
public:
    static constexpr std::size_t min_run = 16;  ///< the run size until a pace is known
    /// The largest run, however fast the handler: a handler that is fast on average can still
    /// meet a slow request, and a run is served in order, so what one slow request can hold
    /// up stays bounded (64: the bursts lond sees from one lonc child, whose pipeline depth
    /// per link is 64, fit in one run).
    static constexpr std::size_t max_run = 64;
    static constexpr std::chrono::nanoseconds run_budget = std::chrono::milliseconds(1);

    /// A connection that had requests in flight for `busy` (since its previous replies, or
    /// since it went from idle to busy) has just read `replies` replies (> 0).
    void answered(std::chrono::nanoseconds busy, std::size_t replies);

    /// Requests per run: run_budget divided by the time per reply, within [min_run, max_run].
    [[nodiscard]] std::size_t run() const;

    /// The smoothed time per reply; zero until the first report.
    [[nodiscard]] std::chrono::nanoseconds per_reply() const { return per_reply_; }

private:
    std::chrono::nanoseconds per_reply_{0};
};

} // namespace lon::proto
