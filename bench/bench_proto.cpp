// Throughput of the pure protocol layer, each next to a reference doing the least possible
// work on the same bytes in the same run (so results read as ratios on any machine):
//   LineFramer vs a bare memchr scan for newlines; escape vs a plain copy;
//   parse_tagged vs std::from_chars on the tag alone.

#include <charconv>
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>

#include "escape.hpp"
#include "line_framer.hpp"
#include "message.hpp"

namespace {

std::string make_stream(std::size_t lines, std::size_t body) {
    std::string s;
    for (std::size_t i = 0; i < lines; ++i) {
        s += std::to_string(i) + " echo:" + std::string(body, 'x') + "\n";
    }
    return s;
}

void reference_memchr_lines(benchmark::State& state) {
    std::string stream = make_stream(1000, static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        std::size_t n = 0;
        const char* p = stream.data();
        const char* end = p + stream.size();
        while (const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p))) {
            p = static_cast<const char*>(nl) + 1;
            ++n;
        }
        benchmark::DoNotOptimize(n);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(reference_memchr_lines)->Arg(16)->Arg(1024);

void line_framer(benchmark::State& state) {
    std::string stream = make_stream(1000, static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        lon::proto::LineFramer f(1 << 20);
        // Feed in 16 KiB reads, as the daemons do.
        std::size_t n = 0;
        for (std::size_t off = 0; off < stream.size(); off += 16384) {
            f.feed(std::string_view(stream).substr(off, 16384));
            for (auto r = f.next(); r.status == lon::proto::LineFramer::Status::line; r = f.next()) {
                ++n;
            }
        }
        benchmark::DoNotOptimize(n);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(line_framer)->Arg(16)->Arg(1024);

std::string mixed_text() {
    std::string s;
    for (int i = 0; i < 256; ++i) {
        s += "user name:" + std::to_string(i) + "&value=a b/c ";
    }
    return s;
}

void reference_copy(benchmark::State& state) {
    std::string text = mixed_text();
    for (auto _ : state) {
        std::string copy = text;
        benchmark::DoNotOptimize(copy.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(reference_copy);

void escape_text(benchmark::State& state) {
    std::string text = mixed_text();
    for (auto _ : state) {
        auto e = lon::proto::escape(text);
        benchmark::DoNotOptimize(e.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(escape_text);

void unescape_text(benchmark::State& state) {
    std::string escaped = lon::proto::escape(mixed_text());
    for (auto _ : state) {
        auto u = lon::proto::unescape(escaped);
        benchmark::DoNotOptimize(u);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * escaped.size()));
}
BENCHMARK(unescape_text);

void reference_from_chars(benchmark::State& state) {
    const std::string line = "123456 echo:payload";
    for (auto _ : state) {
        std::uint64_t v = 0;
        std::from_chars(line.data(), line.data() + 6, v);
        benchmark::DoNotOptimize(v);
    }
}
BENCHMARK(reference_from_chars);

void parse_tagged(benchmark::State& state) {
    const std::string line = "123456 echo:payload";
    for (auto _ : state) {
        auto t = lon::proto::parse_tagged(line);
        benchmark::DoNotOptimize(t);
    }
}
BENCHMARK(parse_tagged);

} // namespace

BENCHMARK_MAIN();
