// The hosts table loader: load_host_table on a file holding the fuzz input.
// Checks: it either loads or throws ConfigError (any other exception, crash or hang is a
// finding); a loaded table has valid, unique ids, a port, and resolved addresses or the reason they do not resolve.
// And the two readers agree: when the parser-event reader (host_table_events.hpp) takes the
// text, yaml-cpp's node tree must read it too, to the same hosts.
// Addresses resolve as IP literals only here (numeric_resolver.cpp): no DNS while fuzzing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>

#include "config.hpp"
#include "fuzz_check.hpp"
#include "fuzz_hosts.hpp"
#include "fuzz_workdir.hpp"
#include "host_table.hpp"
#include "host_table_events.hpp"

namespace {

void same_as_tree(const std::filesystem::path& file, const std::string& text) {
    auto events = lon::read_plain_hosts_yaml(text);
    if (!events) {
        return;
    }
    lon::HostTable tree = lon::load_host_table_nodes(file, text); // a ConfigError here is a finding
    FUZZ_CHECK(tree.hosts().size() == events->size());
    for (std::size_t i = 0; i < events->size(); ++i) {
        const lon::Host& a = (*events)[i].host;
        const lon::Host& b = tree.hosts()[i];
        FUZZ_CHECK(a.id == b.id && a.address == b.address && a.port == b.port &&
                   a.domain == b.domain && a.role == b.role);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static FuzzWorkdir dir;
    auto file = dir.write("hosts.yaml", reinterpret_cast<const char*>(data), size);
    try {
        check_host_table(lon::load_host_table(file));
        same_as_tree(file, std::string(reinterpret_cast<const char*>(data), size));
    } catch (const lon::ConfigError& e) {
        FUZZ_CHECK(!lon::read_plain_hosts_yaml(std::string(reinterpret_cast<const char*>(data), size)));
        FUZZ_CHECK(e.what()[0] != '\0');
    } catch (const std::exception& e) {
        std::fprintf(stderr, "load_host_table threw something else than ConfigError: %s\n", e.what());
        std::abort();
    }
    return 0;
}
