// LineFramer: arbitrary bytes fed in arbitrary chunks, with a small line limit.
// Checks: every returned line is at most max_line bytes and holds no '\n'; after next() says
// need_more, at most max_line bytes stay buffered; the events (lines, too_long) do not depend
// on the chunking and match a one-pass model of the whole stream; without too_long the lines
// joined with '\n' give back the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.hpp"
#include "line_framer.hpp"

using lon::proto::LineFramer;
using Status = LineFramer::Status;

namespace {

struct Event {
    bool too_long;
    std::string line;
    bool operator==(const Event& o) const { return too_long == o.too_long && line == o.line; }
};

/// What the framer must report for `stream`, whatever the chunks: one event per complete
/// line, then the tail (a line when it fits, too_long when it does not, nothing when empty).
std::vector<Event> model(const std::string& stream, std::size_t max_line) {
    std::vector<Event> out;
    std::size_t start = 0;
    for (;;) {
        auto nl = stream.find('\n', start);
        std::size_t end = nl == std::string::npos ? stream.size() : nl;
        std::size_t len = end - start;
        if (nl == std::string::npos && len == 0) {
            break;
        }
        if (len > max_line) {
            out.push_back({true, {}});
        } else {
            out.push_back({false, stream.substr(start, len)});
        }
        if (nl == std::string::npos) {
            break;
        }
        start = nl + 1;
    }
    return out;
}

void check_line(const std::string& line, std::size_t max_line) {
    FUZZ_CHECK(line.size() <= max_line);
    FUZZ_CHECK(line.find('\n') == std::string::npos);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider fdp(data, size);
    const std::size_t max_line = fdp.ConsumeIntegralInRange<std::size_t>(0, 64);
    const bool take_at_end = fdp.ConsumeBool();
    LineFramer framer(max_line);
    FUZZ_CHECK(framer.max_line() == max_line);

    std::string stream;
    std::vector<Event> events;
    while (fdp.remaining_bytes() > 0) {
        auto chunk_len = fdp.ConsumeIntegralInRange<std::size_t>(0, 80);
        std::string chunk = fdp.ConsumeBytesAsString(chunk_len);
        stream += chunk;
        framer.feed(chunk);
        for (;;) {
            auto r = framer.next();
            if (r.status == Status::need_more) {
                FUZZ_CHECK(r.line.empty());
                break;
            }
            if (r.status == Status::line) {
                check_line(r.line, max_line);
                events.push_back({false, r.line});
            } else {
                FUZZ_CHECK(r.line.empty());
                events.push_back({true, {}});
            }
        }
        // Memory bound: an unterminated line is never kept beyond the limit.
        FUZZ_CHECK(framer.buffered() <= max_line);
    }

    // The tail: finish() (or take_buffered(), as a hand-off does).
    auto tail_start = stream.rfind('\n');
    std::string tail = stream.substr(tail_start == std::string::npos ? 0 : tail_start + 1);
    if (take_at_end) {
        std::string kept = framer.take_buffered();
        // An overlong tail was already reported and dropped; otherwise it is handed over whole.
        FUZZ_CHECK(kept == (tail.size() > max_line ? std::string() : tail));
        if (!kept.empty()) {
            events.push_back({false, kept});
        }
    } else {
        auto r = framer.finish();
        if (r.status == Status::line) {
            check_line(r.line, max_line);
            FUZZ_CHECK(!r.line.empty());
            events.push_back({false, r.line});
        } else {
            FUZZ_CHECK(r.status == Status::need_more); // an overlong tail went out via next()
        }
    }
    FUZZ_CHECK(framer.buffered() == 0);
    FUZZ_CHECK(framer.next().status == Status::need_more);

    FUZZ_CHECK(events == model(stream, max_line));

    // Concatenation: without too_long the lines are the stream.
    bool any_too_long = false;
    std::string joined;
    for (std::size_t i = 0; i < events.size(); ++i) {
        any_too_long = any_too_long || events[i].too_long;
        joined += events[i].line;
        bool last_unterminated = i + 1 == events.size() && !tail.empty();
        if (!last_unterminated) {
            joined += '\n';
        }
    }
    if (!any_too_long) {
        FUZZ_CHECK(joined == stream);
    }
    return 0;
}
