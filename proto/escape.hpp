#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lon::proto {

/// LON-CAPA field escaping: every byte outside [A-Za-z0-9_] becomes %xx (lowercase hex).
[[nodiscard]] std::string escape(std::string_view raw);
/// Reverses escape(): %XX (either case) becomes the byte; nullopt on a malformed % sequence.
[[nodiscard]] std::optional<std::string> unescape(std::string_view escaped);

} // namespace lon::proto
