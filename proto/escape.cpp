#include "escape.hpp"

#include <array>

namespace lon::proto {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

/// [A-Za-z0-9_] as a table: escape() looks every byte up twice, a branchy test per byte
/// costs more than the table.
constexpr std::array<bool, 256> word_table = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c) {
        t[static_cast<std::size_t>(c)] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                         (c >= '0' && c <= '9') || c == '_';
    }
    return t;
}();

bool is_word(char c) {
    return word_table[static_cast<unsigned char>(c)];
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

} // namespace

std::string escape(std::string_view raw) {
    // Size first, then fill: one allocation and no per-byte capacity checks.
    std::size_t size = raw.size();
    for (char ch : raw) {
        size += is_word(ch) ? 0 : 2;
    }
    if (size == raw.size()) {
        return std::string(raw); // nothing to escape (common for ids and numbers)
    }
    std::string out(size, '\0');
    std::size_t o = 0;
    for (char ch : raw) {
        if (is_word(ch)) {
            out[o++] = ch;
        } else {
            auto c = static_cast<unsigned char>(ch);
            out[o++] = '%';
            out[o++] = hex_digits[c >> 4];
            out[o++] = hex_digits[c & 0xf];
        }
    }
    return out;
}

std::optional<std::string> unescape(std::string_view escaped) {
    std::string out;
    out.reserve(escaped.size());
    std::size_t i = 0;
    while (i < escaped.size()) {
        // Copy the run up to the next '%' in one go.
        auto pct = escaped.find('%', i);
        if (pct == std::string_view::npos) {
            out.append(escaped.substr(i));
            break;
        }
        out.append(escaped.substr(i, pct - i));
        if (pct + 2 >= escaped.size()) { // '%' needs two hex digits after it
            return std::nullopt;
        }
        int hi = hex_value(escaped[pct + 1]);
        int lo = hex_value(escaped[pct + 2]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
        i = pct + 3;
    }
    return out;
}

} // namespace lon::proto
