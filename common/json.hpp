#pragma once

#include <string>
#include <string_view>

namespace lon {

/// `text` as a JSON string literal, quotes included (control chars and non-ASCII bytes
/// escaped as \u00XX so the output is always valid single-line JSON).
[[nodiscard]] std::string json_string(std::string_view text);

} // namespace lon
