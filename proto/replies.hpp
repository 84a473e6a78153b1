#pragma once

#include <string_view>

/// Reply tokens produced by lonlink itself (not by a handler).
namespace lon::proto::replies {

inline constexpr std::string_view con_lost = "con_lost";
inline constexpr std::string_view con_delayed = "con_delayed";
inline constexpr std::string_view con_failed = "con_failed";
inline constexpr std::string_view too_long = "error:too_long";
inline constexpr std::string_view unknown_cmd = "unknown_cmd";
inline constexpr std::string_view requires_ssl = "refused:requires_ssl";
inline constexpr std::string_view bad_request = "error:bad_request";

} // namespace lon::proto::replies
