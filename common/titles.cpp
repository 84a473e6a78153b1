#include "titles.hpp"

#include <fmt/format.h>

#include "host_port.hpp"

namespace lon::titles {

std::string lonc_parent(std::string_view own_id, int children) {
    return fmt::format("lonc: parent {} links: {}", own_id, children);
}

std::string lonc_connecting(std::string_view peer, int retries) {
    return fmt::format("lonc: {} Connecting Retries remaining: {}", peer, retries);
}

std::string lonc_linked(std::string_view peer, int connections, int retries,
                        std::string_view mode) {
    return fmt::format("lonc: {} Connection count: {} Retries remaining: {} ({})", peer,
                       connections, retries, mode);
}

std::string lonc_dead(std::string_view peer, long seconds_to_probe) {
    return fmt::format("lonc: {} >>> DEAD !!!! <<< next probe in {}s", peer, seconds_to_probe);
}

std::string lond_parent(std::string_view own_id, std::string_view address, unsigned port,
                        int children) {
    return fmt::format("lond: parent {} listening {} peers: {}", own_id, host_port(address, port),
                       children);
}

std::string lond_child(std::string_view peer, int connections, std::string_view mode) {
    return fmt::format("lond: {} Connection count: {} ({})", peer, connections, mode);
}

} // namespace lon::titles
