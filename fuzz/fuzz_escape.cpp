// %XX escaping: escape / unescape.
// Checks: unescape(escape(x)) == x; escape writes only [A-Za-z0-9_] and %xx with lowercase
// hex, and leaves [A-Za-z0-9_] bytes alone; unescape of arbitrary text either fails or gives
// a string that survives escape/unescape; text without '%' unescapes to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "escape.hpp"
#include "fuzz_check.hpp"

using namespace lon::proto;

namespace {

bool is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);

    std::string e = escape(raw);
    std::size_t expected = 0;
    for (char c : raw) {
        expected += is_word(c) ? 1 : 3;
    }
    FUZZ_CHECK(e.size() == expected);
    for (std::size_t i = 0; i < e.size(); ++i) {
        if (e[i] == '%') {
            FUZZ_CHECK(i + 2 < e.size() && is_lower_hex(e[i + 1]) && is_lower_hex(e[i + 2]));
            i += 2;
        } else {
            FUZZ_CHECK(is_word(e[i]));
        }
    }
    auto back = unescape(e);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == raw);

    auto u = unescape(raw);
    if (raw.find('%') == std::string_view::npos) {
        FUZZ_CHECK(u.has_value() && *u == raw);
    }
    if (u) {
        FUZZ_CHECK(u->size() <= raw.size());
        auto again = unescape(escape(*u));
        FUZZ_CHECK(again.has_value() && *again == *u);
    }
    return 0;
}
