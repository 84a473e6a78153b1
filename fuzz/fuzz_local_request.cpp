// lonc's classifier of local client lines: classify_local.
// Checks: the body always borrows from the line; lonc:critical:<body> is durable only when
// `<20-digit tag> critical:<64-char id>:<body>` fits max_message_bytes and the body is not
// itself critical; a plain line is never critical, never lonc:..., and fits as
// `<20-digit tag> <line>`; too_long lines would not fit; bad_request bodies are critical.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>

#include "critical.hpp"
#include "fuzz_check.hpp"
#include "local_request.hpp"
#include "message.hpp"

using namespace lon::proto;

namespace {

constexpr std::uint64_t widest_tag = std::numeric_limits<std::uint64_t>::max();

/// Length of the line lonc would put on the wire for `request` ('\n' excluded).
std::size_t wire_size(std::string_view request) {
    return format_tagged(widest_tag, request).size() - 1;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider fdp(data, size);
    // The config allows 1 KiB .. 1 GiB; small values make too_long reachable.
    const auto max_message = fdp.ConsumeIntegralInRange<std::size_t>(1024, 1024 + 512);
    const std::string text = fdp.ConsumeRemainingBytesAsString();
    const std::string_view line = text;
    const std::string longest_id(max_critical_id, 'x');

    FUZZ_CHECK(max_local_request(max_message) + max_tag_overhead == max_message);
    FUZZ_CHECK(wire_size(std::string(max_local_request(max_message), 'a')) == max_message);
    FUZZ_CHECK(wire_size(format_critical(longest_id, std::string(max_durable_request(max_message), 'a'))) ==
               max_message);

    LocalRequest r = classify_local(line, max_message);
    FUZZ_CHECK(r.body.data() >= line.data() &&
               r.body.data() + r.body.size() == line.data() + line.size());
    const bool durable_prefix = starts_with(line, "lonc:critical:");
    switch (r.kind) {
    case LocalKind::plain:
        FUZZ_CHECK(r.body == line);
        FUZZ_CHECK(!starts_with(line, "lonc:"));
        FUZZ_CHECK(!is_critical(line) && !is_critical_ack(line));
        FUZZ_CHECK(wire_size(line) <= max_message);
        break;
    case LocalKind::lonc_command:
        FUZZ_CHECK(r.body == line);
        FUZZ_CHECK(starts_with(line, "lonc:") && !durable_prefix);
        break;
    case LocalKind::durable: {
        FUZZ_CHECK(durable_prefix);
        FUZZ_CHECK(r.body == line.substr(14));
        FUZZ_CHECK(!is_critical(r.body) && !is_critical_ack(r.body));
        std::string wire = format_critical(longest_id, r.body);
        FUZZ_CHECK(wire_size(wire) <= max_message);
        auto c = parse_critical(wire);
        FUZZ_CHECK(c.has_value() && c->request == r.body);
        break;
    }
    case LocalKind::too_long:
        if (durable_prefix) {
            FUZZ_CHECK(r.body == line.substr(14));
            FUZZ_CHECK(wire_size(format_critical(longest_id, r.body)) > max_message);
        } else {
            FUZZ_CHECK(r.body == line);
            FUZZ_CHECK(wire_size(line) > max_message);
        }
        break;
    case LocalKind::bad_request:
        // Only lonc puts critical: and critical_ack on the wire.
        FUZZ_CHECK(is_critical(r.body) || is_critical_ack(r.body));
        FUZZ_CHECK(durable_prefix ? r.body == line.substr(14) : r.body == line);
        break;
    }
    return 0;
}
