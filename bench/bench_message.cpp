// Per-line cost of the message layer next to the least work on the same bytes in the same run:
// parse_tagged vs std::from_chars on the tag alone; format_tagged vs building the same line
// with std::string appends.

#include <charconv>
#include <cstdint>
#include <string>

#include <benchmark/benchmark.h>

#include "message.hpp"

namespace {

const std::string line = "123456 echo:payload%20with%20some%20escaped%20text";

void reference_from_chars(benchmark::State& state) {
    for (auto _ : state) {
        std::uint64_t v = 0;
        std::from_chars(line.data(), line.data() + 6, v);
        benchmark::DoNotOptimize(v);
    }
}

void parse_tagged(benchmark::State& state) {
    for (auto _ : state) {
        auto t = lon::proto::parse_tagged(line);
        benchmark::DoNotOptimize(t);
    }
}

void reference_append(benchmark::State& state) {
    const std::string body = line.substr(7);
    for (auto _ : state) {
        std::string out;
        out.reserve(body.size() + 24);
        out += "123456 ";
        out += body;
        out += '\n';
        benchmark::DoNotOptimize(out.data());
    }
}

void format_tagged(benchmark::State& state) {
    const std::string body = line.substr(7);
    for (auto _ : state) {
        std::string out = lon::proto::format_tagged(123456, body);
        benchmark::DoNotOptimize(out.data());
    }
}

} // namespace

BENCHMARK(reference_from_chars);
BENCHMARK(parse_tagged);
BENCHMARK(reference_append);
BENCHMARK(format_tagged);

BENCHMARK_MAIN();
