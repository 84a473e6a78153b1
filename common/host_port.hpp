#pragma once

#include <string>
#include <string_view>

namespace lon {

/// "<address>:<port>" as admins read and type it: an IPv6 literal in brackets
/// ("[fd00::1]:5663", RFC 3986), an IPv4 literal or a name as it is ("10.1.0.11:5663").
[[nodiscard]] std::string host_port(std::string_view address, unsigned port);

} // namespace lon
