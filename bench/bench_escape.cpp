// escape/unescape throughput next to a reference copying the same bytes (std::string copy,
// i.e. allocation + memcpy) in the same run, so results read as ratios on any machine.
// Inputs: word characters only (nothing to escape: the best case), typical LON-CAPA request
// text (some separators and spaces), and binary bytes (nearly everything escaped).

#include <string>

#include <benchmark/benchmark.h>

#include "escape.hpp"

namespace {

constexpr std::size_t text_bytes = 64 * 1024;

std::string make_text(int kind) {
    std::string s;
    for (unsigned i = 0; s.size() < text_bytes; ++i) {
        switch (kind) {
        case 0:
            s += "user_name_" + std::to_string(i) + "_value";
            break;
        case 1:
            s += "user name:" + std::to_string(i) + "&value=a b/c ";
            break;
        default:
            s.push_back(static_cast<char>((i * 37u) & 0xffu));
            break;
        }
    }
    s.resize(text_bytes);
    return s;
}

const char* kind_name(int kind) {
    return kind == 0 ? "word" : kind == 1 ? "mixed" : "binary";
}

void reference_copy(benchmark::State& state) {
    const std::string text = make_text(static_cast<int>(state.range(0)));
    for (auto _ : state) {
        std::string copy = text;
        benchmark::DoNotOptimize(copy.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
    state.SetLabel(kind_name(static_cast<int>(state.range(0))));
}

void escape(benchmark::State& state) {
    const std::string text = make_text(static_cast<int>(state.range(0)));
    std::size_t out = 0;
    for (auto _ : state) {
        std::string e = lon::proto::escape(text);
        out = e.size();
        benchmark::DoNotOptimize(e.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
    state.counters["growth"] = static_cast<double>(out) / static_cast<double>(text.size());
    state.SetLabel(kind_name(static_cast<int>(state.range(0))));
}

/// Bytes processed counts the escaped input, so compare with reference_copy of the same size
/// by the ratio of times, not of rates.
void unescape(benchmark::State& state) {
    const std::string escaped = lon::proto::escape(make_text(static_cast<int>(state.range(0))));
    for (auto _ : state) {
        auto u = lon::proto::unescape(escaped);
        benchmark::DoNotOptimize(u->data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * escaped.size()));
    state.SetLabel(kind_name(static_cast<int>(state.range(0))));
}

} // namespace

BENCHMARK(reference_copy)->DenseRange(0, 2);
BENCHMARK(escape)->DenseRange(0, 2);
BENCHMARK(unescape)->DenseRange(0, 2);

BENCHMARK_MAIN();
