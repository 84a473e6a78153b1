// The hosts table loader: load_host_table on a file holding the fuzz input.
// Checks: it either loads or throws ConfigError (any other exception, crash or hang is a
// finding); a loaded table has valid, unique ids, a port, and resolved addresses or the reason they do not resolve.
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

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static FuzzWorkdir dir;
    auto file = dir.write("hosts.yaml", reinterpret_cast<const char*>(data), size);
    try {
        check_host_table(lon::load_host_table(file));
    } catch (const lon::ConfigError& e) {
        FUZZ_CHECK(e.what()[0] != '\0');
    } catch (const std::exception& e) {
        std::fprintf(stderr, "load_host_table threw something else than ConfigError: %s\n", e.what());
        std::abort();
    }
    return 0;
}
