// LineFramer throughput next to references doing the least possible work on the same bytes in
// the same run, so the results read as ratios on any machine:
//   reference_find_count  std::string::find('\n') over the stream, counting lines
//   reference_find_copy   the same, copying each line into a std::string (what next() returns)
//   line_framer           LineFramer fed in fixed-size reads, as the daemons feed it
// Args: line body bytes, read size. Small lines show the per-line overhead; 64 KiB lines in
// 4 KiB reads show that a partial line is not rescanned on every read.

#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include "line_framer.hpp"

namespace {

using lon::proto::LineFramer;

constexpr std::size_t stream_bytes = 4 << 20; // about 4 MiB per iteration

/// "<n> echo:xxx…\n" lines of `body` bytes, about stream_bytes in all.
std::string make_stream(std::size_t body) {
    std::string s;
    for (std::size_t i = 0; s.size() < stream_bytes; ++i) {
        s += std::to_string(i) + " echo:" + std::string(body, 'x') + "\n";
    }
    return s;
}

void set_counters(benchmark::State& state, const std::string& stream, std::size_t lines) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
    state.counters["lines"] = static_cast<double>(lines);
}

void reference_find_count(benchmark::State& state) {
    const std::string stream = make_stream(static_cast<std::size_t>(state.range(0)));
    std::size_t lines = 0;
    for (auto _ : state) {
        lines = 0;
        for (auto nl = stream.find('\n'); nl != std::string::npos; nl = stream.find('\n', nl + 1)) {
            ++lines;
        }
        benchmark::DoNotOptimize(lines);
    }
    set_counters(state, stream, lines);
}

void reference_find_copy(benchmark::State& state) {
    const std::string stream = make_stream(static_cast<std::size_t>(state.range(0)));
    std::size_t lines = 0;
    for (auto _ : state) {
        lines = 0;
        std::size_t start = 0;
        for (auto nl = stream.find('\n'); nl != std::string::npos; nl = stream.find('\n', start)) {
            std::string line = stream.substr(start, nl - start);
            benchmark::DoNotOptimize(line.data());
            start = nl + 1;
            ++lines;
        }
    }
    set_counters(state, stream, lines);
}

void line_framer(benchmark::State& state) {
    const std::string stream = make_stream(static_cast<std::size_t>(state.range(0)));
    const auto read_size = static_cast<std::size_t>(state.range(1));
    const std::string_view all(stream);
    std::size_t lines = 0;
    for (auto _ : state) {
        LineFramer framer(1 << 20);
        lines = 0;
        for (std::size_t off = 0; off < all.size(); off += read_size) {
            framer.feed(all.substr(off, read_size));
            for (auto r = framer.next(); r.status == LineFramer::Status::line; r = framer.next()) {
                benchmark::DoNotOptimize(r.line.data());
                ++lines;
            }
        }
    }
    set_counters(state, stream, lines);
}

/// An overlong line is discarded as it arrives: cost per byte should stay near a scan.
void line_framer_discarding(benchmark::State& state) {
    const std::string chunk(16384, 'x');
    std::size_t too_long = 0;
    for (auto _ : state) {
        LineFramer framer(1024);
        too_long = 0;
        for (std::size_t off = 0; off < stream_bytes; off += chunk.size()) {
            framer.feed(chunk);
            for (auto r = framer.next(); r.status != LineFramer::Status::need_more;
                 r = framer.next()) {
                too_long += r.status == LineFramer::Status::too_long ? 1 : 0;
            }
        }
        benchmark::DoNotOptimize(too_long);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream_bytes));
}

} // namespace

BENCHMARK(reference_find_count)->Arg(16)->Arg(1024)->Arg(65536);
BENCHMARK(reference_find_copy)->Arg(16)->Arg(1024)->Arg(65536);
BENCHMARK(line_framer)
    ->Args({16, 16384})
    ->Args({16, 64})
    ->Args({1024, 16384})
    ->Args({65536, 4096});
BENCHMARK(line_framer_discarding);

BENCHMARK_MAIN();
