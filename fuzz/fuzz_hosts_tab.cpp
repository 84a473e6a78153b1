// The LON-CAPA hosts.tab loader (common/hosts_tab.hpp): load_host_table on a ".tab" file
// holding the fuzz input.
// Checks: it either loads or throws ConfigError naming the file and a line (any other
// exception, crash or hang is a finding); a loaded table keeps the promises of every hosts
// table (fuzz_hosts.hpp) with port 5663; and the table a parent renders for a child from
// those hosts (render_host_table) loads back to the same ids and addresses.
// Addresses resolve as IP literals only here (numeric_resolver.cpp): no DNS while fuzzing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "config.hpp"
#include "fuzz_check.hpp"
#include "fuzz_hosts.hpp"
#include "fuzz_workdir.hpp"
#include "host_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static FuzzWorkdir dir;
    auto file = dir.write("hosts.tab", reinterpret_cast<const char*>(data), size);
    lon::HostTable table;
    try {
        table = lon::load_host_table(file);
    } catch (const lon::ConfigError& e) {
        std::string what = e.what();
        FUZZ_CHECK(what.rfind(file.string() + ":", 0) == 0); // "<file>:<line>: ..."
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "load_host_table threw something else than ConfigError: %s\n", e.what());
        std::abort();
    }
    check_host_table(table);
    std::vector<const lon::Host*> all;
    for (const auto& h : table.hosts()) {
        FUZZ_CHECK(h.port == 5663);
        FUZZ_CHECK(!h.domain.empty() && !h.role.empty());
        all.push_back(&h);
    }
    std::string text = lon::render_host_table(file, all);
    auto again = dir.write("rendered.tab", text.data(), text.size());
    lon::HostTable back = lon::load_host_table(again); // must load: a ConfigError aborts
    FUZZ_CHECK(back.hosts().size() == all.size());
    for (const lon::Host* h : all) {
        const lon::Host* b = back.find(h->id);
        FUZZ_CHECK(b != nullptr && b->address == h->address && b->domain == h->domain &&
                   b->role == h->role);
    }
    return 0;
}
