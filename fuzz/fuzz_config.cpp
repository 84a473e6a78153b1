// The config loader: load_config on <tmp>/lonlink.yaml holding the fuzz input, next to a
// fixed, valid hosts table <tmp>/hosts.yaml (hosts alpha, beta, gamma).
// Checks: it either loads or throws ConfigError (any other exception, crash or hang is a
// finding); a loaded config has a host_id in its hosts table, absolute paths, positive
// durations with backoff_max >= backoff_initial, and sizes within their documented bounds.
// Inputs whose hosts_file names an existing file outside the folder are skipped: the loader
// would read whatever the admin names (/dev/zero, a FIFO...), which is not a parser finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include <yaml-cpp/yaml.h>

#include "config.hpp"
#include "fuzz_check.hpp"
#include "fuzz_hosts.hpp"
#include "fuzz_workdir.hpp"

namespace {

constexpr char hosts_yaml[] = R"(hosts:
  - { id: alpha, address: 127.0.0.1, port: 5663, domain: test, role: library }
  - { id: beta, address: "::1" }
  - id: gamma
    address: 10.1.2.3
    port: 6000
)";

/// Whether the hosts_file the input names (if any) is safe to read: inside the folder or
/// absent.
bool hosts_file_ok(const std::filesystem::path& dir, const char* data, std::size_t size) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(data, size));
    } catch (const std::exception&) {
        return true; // load_config reports it
    }
    if (!root.IsMap()) {
        return true;
    }
    for (const auto& kv : root) {
        if (!kv.first.IsScalar() || kv.first.Scalar() != "hosts_file" || !kv.second.IsScalar()) {
            continue;
        }
        std::filesystem::path p(kv.second.Scalar());
        if (p.is_relative()) {
            p = dir / p;
        }
        p = p.lexically_normal();
        std::error_code ec;
        bool inside = p.string().rfind(dir.string() + "/", 0) == 0 || p == dir;
        if (!inside && std::filesystem::exists(p, ec)) {
            return false;
        }
    }
    return true;
}

void check_config(const lon::Config& c) {
    FUZZ_CHECK(lon::valid_host_id(c.host_id));
    FUZZ_CHECK(c.hosts.find(c.host_id) != nullptr);
    FUZZ_CHECK(&c.self() == c.hosts.find(c.host_id));
    check_host_table(c.hosts);
    FUZZ_CHECK(c.file.is_absolute() && c.hosts_file.is_absolute());
    for (const auto* p : {&c.paths.cert_dir, &c.paths.socket_dir, &c.paths.run_dir,
                          &c.paths.log_dir, &c.paths.spool_dir, &c.paths.state_dir}) {
        FUZZ_CHECK(p->is_absolute());
    }
    FUZZ_CHECK(c.listen_port >= 1);
    const auto& l = c.lonc;
    FUZZ_CHECK(l.max_connections >= 1 && l.max_connections <= 64);
    FUZZ_CHECK(l.retries >= 1 && l.retries <= 1000);
    for (auto d : {l.stable_after, l.backoff_initial, l.backoff_max, l.idle_timeout,
                   l.request_timeout, l.keepalive, l.client_idle_timeout, c.lond.idle_timeout,
                   c.limits.handshake_timeout}) {
        FUZZ_CHECK(d.count() > 0);
    }
    FUZZ_CHECK(l.backoff_max >= l.backoff_initial);
    FUZZ_CHECK(l.max_queued >= 1 && l.max_outstanding_per_client >= 1);
    FUZZ_CHECK(c.lond.load_limit > 0);
    FUZZ_CHECK(c.lond.max_handler_requests >= 1);
    FUZZ_CHECK(c.limits.max_message_bytes >= 1024 && c.limits.max_message_bytes <= (1ULL << 30));
    FUZZ_CHECK(c.limits.max_pending_inits >= 1 && c.limits.max_pending_inits_per_address >= 1);
    FUZZ_CHECK(c.tls.expiry_warning_days >= 0 && c.tls.expiry_warning_days <= 3650);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static FuzzWorkdir dir;
    static const bool hosts_written = [] {
        (void)dir.write("hosts.yaml", hosts_yaml, sizeof hosts_yaml - 1);
        return true;
    }();
    (void)hosts_written;
    const char* text = reinterpret_cast<const char*>(data);
    if (!hosts_file_ok(dir.path(), text, size)) {
        return -1; // not added to the corpus
    }
    auto file = dir.write("lonlink.yaml", text, size);
    try {
        check_config(lon::load_config(file));
    } catch (const lon::ConfigError& e) {
        FUZZ_CHECK(e.what()[0] != '\0');
    } catch (const std::exception& e) {
        std::fprintf(stderr, "load_config threw something else than ConfigError: %s\n", e.what());
        std::abort();
    }
    return 0;
}
