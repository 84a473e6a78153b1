#pragma once

#include <string>
#include <string_view>

/// Process titles exactly as DESIGN.md's table says; one pure function per state.
namespace lon::titles {

[[nodiscard]] std::string lonc_parent(std::string_view own_id, int children);
[[nodiscard]] std::string lonc_connecting(std::string_view peer, int retries);
[[nodiscard]] std::string lonc_linked(std::string_view peer, int connections, int retries,
                                      std::string_view mode);
[[nodiscard]] std::string lonc_dead(std::string_view peer, long seconds_to_probe);
[[nodiscard]] std::string lond_parent(std::string_view own_id, std::string_view address,
                                      unsigned port, int children);
[[nodiscard]] std::string lond_child(std::string_view peer, int connections,
                                     std::string_view mode);

} // namespace lon::titles
