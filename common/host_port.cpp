#include "host_port.hpp"

#include <fmt/format.h>

namespace lon {

std::string host_port(std::string_view address, unsigned port) {
    // Only an IPv6 literal holds a colon; without brackets its last group and the port
    // could not be told apart ("fd00::1:5663").
    if (address.find(':') != std::string_view::npos) {
        return fmt::format("[{}]:{}", address, port);
    }
    return fmt::format("{}:{}", address, port);
}

} // namespace lon
