// Tagged lines: parse_tagged / format_tagged, command_of / argument_of.
// Checks: a parsed line's body is the text after the first space and its tag the decimal
// before it; format_tagged gives back the input (plus '\n') when the tag has no leading
// zeros, and always a line that parses to the same tag and body; any (tag, body) formats to
// a line that parses back to it; command and argument put back together give the request.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "message.hpp"

using namespace lon::proto;

namespace {

void check_round_trip(std::uint64_t tag, std::string_view body) {
    std::string wire = format_tagged(tag, body);
    FUZZ_CHECK(!wire.empty() && wire.back() == '\n');
    std::string_view line(wire.data(), wire.size() - 1);
    auto t = parse_tagged(line);
    FUZZ_CHECK(t.has_value());
    FUZZ_CHECK(t->tag == tag);
    FUZZ_CHECK(t->body == body);
    FUZZ_CHECK(line.size() <= 21 + body.size()); // the wire overhead lonc budgets for
}

void check_command(std::string_view request) {
    std::string_view cmd = command_of(request);
    std::string_view arg = argument_of(request);
    FUZZ_CHECK(cmd.find(':') == std::string_view::npos);
    if (cmd.size() == request.size()) {
        FUZZ_CHECK(arg.empty());
    } else {
        FUZZ_CHECK(std::string(cmd) + ":" + std::string(arg) == request);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    if (auto t = parse_tagged(line)) {
        auto space = line.find(' ');
        FUZZ_CHECK(space != std::string_view::npos && space >= 1 && space <= 20);
        std::string_view digits = line.substr(0, space);
        for (char c : digits) {
            FUZZ_CHECK(c >= '0' && c <= '9');
        }
        FUZZ_CHECK(t->body == line.substr(space + 1));
        FUZZ_CHECK(t->body.data() == line.data() + space + 1); // borrows, no copy
        bool canonical = digits == std::to_string(t->tag);
        if (canonical) {
            FUZZ_CHECK(format_tagged(t->tag, t->body) == std::string(line) + "\n");
        }
        check_round_trip(t->tag, t->body);
        check_command(t->body);
    } else {
        // Rejected lines: no space in the first 21 bytes, an empty or non-decimal tag, or
        // one over 64 bits.
        auto space = line.find(' ');
        bool digits_only = space != std::string_view::npos && space >= 1 && space <= 20;
        for (std::size_t i = 0; digits_only && i < space; ++i) {
            digits_only = line[i] >= '0' && line[i] <= '9';
        }
        if (digits_only) {
            // Must then be too big for 64 bits: 20 digits above 18446744073709551615.
            std::string_view d = line.substr(0, space);
            auto nz = d.find_first_not_of('0');
            FUZZ_CHECK(nz != std::string_view::npos);
            d.remove_prefix(nz);
            FUZZ_CHECK(d.size() == 20 && d > "18446744073709551615");
        }
    }
    // The reverse direction: the first 8 bytes as a tag, the rest as a body.
    std::uint64_t tag = 0;
    if (size >= 8) {
        std::memcpy(&tag, data, 8);
        check_round_trip(tag, line.substr(8));
    }
    check_command(line);
    return 0;
}
