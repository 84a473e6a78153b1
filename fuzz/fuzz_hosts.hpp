#pragma once

// Checks shared by the config and hosts-table targets: what a loaded hosts table promises.

#include <cstddef>

#include "fuzz_check.hpp"
#include "host_table.hpp"

inline void check_host_table(const lon::HostTable& table) {
    const auto& hosts = table.hosts();
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        const lon::Host& h = hosts[i];
        FUZZ_CHECK(lon::valid_host_id(h.id));
        FUZZ_CHECK(!h.address.empty());
        FUZZ_CHECK(h.port >= 1);
        // A name that does not resolve is kept, with the reason, to be resolved later.
        FUZZ_CHECK(!h.resolved.empty() || !h.resolve_error.empty());
        FUZZ_CHECK(table.find(h.id) == &h); // ids are unique
        for (const auto& ip : h.resolved) {
            FUZZ_CHECK(lon::HostTable::has_address(h, ip));
        }
    }
}
