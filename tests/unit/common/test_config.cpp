#include <catch2/catch.hpp>

#include "config.hpp"
#include "temp_dir.hpp"

using namespace std::chrono_literals;

namespace {

const char* hosts_yaml = R"(hosts:
  - { id: msul1, address: 127.0.0.11, port: 5663, domain: msu, role: library }
  - { id: msul2, address: 127.0.0.12 }
)";

/// Loads `config_text` as lonlink.yaml next to a valid hosts.yaml and returns the
/// ConfigError message ("" when it loads).
std::string error_of(const std::string& config_text, const std::string& hosts = hosts_yaml) {
    TempDir dir;
    dir.write("hosts.yaml", hosts);
    return config_error(dir, [&] { (void)lon::load_config(dir.write("lonlink.yaml", config_text)); });
}

} // namespace

TEST_CASE("Config: the full example from DESIGN.md loads with its values", "[common]") {
    TempDir dir;
    dir.write("hosts.yaml", hosts_yaml);
    auto file = dir.write("lonlink.yaml", R"(host_id: msul1
hosts_file: hosts.yaml
listen: { address: 0.0.0.0, port: 5663 }
paths: { cert_dir: certs, socket_dir: sockets, run_dir: run, log_dir: log, spool_dir: spool, state_dir: state }
socket_group: www
tls: { key_passphrase_file: null, expiry_warning_days: 14 }
lonc: { allow_insecure: true, max_connections: 3, retries: 5, stable_after: 30s,
        backoff_initial: 1s, backoff_max: 300s, idle_timeout: 300s, request_timeout: 300s, keepalive: 30s }
lond: { allow_insecure: true, handler: null, insecure_commands: [ping, pong, echo, time, load, version], load_limit: 2.0 }
limits: { max_message_bytes: 16MiB, handshake_timeout: 10s }
)");
    auto c = lon::load_config(file);
    CHECK(c.host_id == "msul1");
    CHECK(c.file == std::filesystem::absolute(file));
    CHECK(c.hosts_file == dir.path() / "hosts.yaml");
    CHECK(c.paths.socket_dir == dir.path() / "sockets");
    CHECK(c.paths.state_dir == dir.path() / "state");
    CHECK(c.listen_address == "0.0.0.0");
    CHECK(c.listen_port == 5663);
    CHECK(c.socket_group == std::optional<std::string>("www"));
    CHECK_FALSE(c.tls.key_passphrase_file);
    CHECK(c.lonc.stable_after == 30s);
    CHECK(c.lonc.backoff_max == 300s);
    CHECK(c.lond.insecure_commands.size() == 6);
    CHECK_FALSE(c.lond.handler);
    CHECK(c.limits.max_message_bytes == 16u * 1024 * 1024);
    CHECK(c.limits.handshake_timeout == 10s);
    REQUIRE(c.hosts.hosts().size() == 2);
    CHECK(c.self().address == "127.0.0.11");
    CHECK(c.hosts.find("msul1")->domain == "msu");
    CHECK(c.hosts.find("msul2")->port == 5663);
}

TEST_CASE("Config: defaults for everything but host_id and hosts_file", "[common]") {
    TempDir dir;
    dir.write("h/hosts.yaml", hosts_yaml);
    auto c = lon::load_config(dir.write("etc/lonlink.yaml", "host_id: msul2\nhosts_file: ../h/hosts.yaml\n"));
    CHECK(c.hosts_file == dir.path() / "h" / "hosts.yaml");
    CHECK(c.paths.run_dir == dir.path() / "etc" / "run");
    CHECK(c.lonc.retries == 5);
    CHECK(c.lonc.max_connections == 3);
    CHECK(c.lonc.request_timeout == 300s);
    CHECK(c.lond.load_limit == Approx(2.0));
    CHECK(c.lond.allow_insecure);
    CHECK(c.socket_group == std::optional<std::string>("www"));
    CHECK(c.listen_address == "0.0.0.0");
}

TEST_CASE("Config: relative and absolute paths, null values", "[common]") {
    TempDir dir;
    dir.write("hosts.yaml", hosts_yaml);
    auto c = lon::load_config(dir.write("lonlink.yaml", R"(host_id: msul1
hosts_file: hosts.yaml
paths: { run_dir: /var/run/lonlink, log_dir: ../logs }
socket_group: null
lond: { handler: handler.sock }
tls: { key_passphrase_file: secret/pass }
)"));
    CHECK(c.paths.run_dir == "/var/run/lonlink");
    CHECK(c.paths.log_dir == dir.path().parent_path() / "logs");
    CHECK_FALSE(c.socket_group);
    CHECK(c.lond.handler == std::optional<std::filesystem::path>(dir.path() / "handler.sock"));
    CHECK(c.tls.key_passphrase_file ==
          std::optional<std::filesystem::path>(dir.path() / "secret" / "pass"));
}

TEST_CASE("Config: metrics_dir is optional and resolves like the paths", "[common][metrics]") {
    TempDir dir;
    dir.write("hosts.yaml", hosts_yaml);
    auto unset = lon::load_config(dir.write("lonlink.yaml", "host_id: msul1\nhosts_file: hosts.yaml\n"));
    CHECK_FALSE(unset.metrics_dir);
    auto rel = lon::load_config(
        dir.write("lonlink.yaml", "host_id: msul1\nhosts_file: hosts.yaml\nmetrics_dir: prom\n"));
    CHECK(rel.metrics_dir == std::optional<std::filesystem::path>(dir.path() / "prom"));
    auto null = lon::load_config(
        dir.write("lonlink.yaml", "host_id: msul1\nhosts_file: hosts.yaml\nmetrics_dir: null\n"));
    CHECK_FALSE(null.metrics_dir);
}

TEST_CASE("Config: errors name the file, the line and the key", "[common]") {
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlonc: { retries: five }\n") ==
          "DIR/lonlink.yaml:3: lonc.retries: expected an integer, got \"five\"");
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\n\nlonc:\n  retry: 3\n") ==
          "DIR/lonlink.yaml:5: lonc.retry: unknown key");
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\ncolour: blue\n") ==
          "DIR/lonlink.yaml:3: colour: unknown key");
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlonc: { stable_after: 30 parsecs }\n") ==
          "DIR/lonlink.yaml:3: lonc.stable_after: expected a duration such as 30s, 5m, 250ms, "
          "got \"30 parsecs\"");
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlimits: { max_message_bytes: 16 "
                   "furlongs }\n")
              .find("lonlink.yaml:3: limits.max_message_bytes:") != std::string::npos);
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlonc: { allow_insecure: maybe }\n") ==
          "DIR/lonlink.yaml:3: lonc.allow_insecure: expected true or false");
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlisten: { port: 70000 }\n") ==
          "DIR/lonlink.yaml:3: listen.port: must be between 1 and 65535, got 70000");
    CHECK(error_of("host_id: msul9\nhosts_file: hosts.yaml\n")
              .find("lonlink.yaml:1: host_id: msul9 is not in the hosts table") != std::string::npos);
    CHECK(error_of("hosts_file: hosts.yaml\n").find("lonlink.yaml:1: host_id: missing") !=
          std::string::npos);
    CHECK(error_of("host_id: msul1\nhosts_file: nowhere.yaml\n")
              .find("DIR/nowhere.yaml: cannot read") != std::string::npos);
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlonc: [1, 2\n")
              .rfind("DIR/lonlink.yaml:", 0) == 0);
}

TEST_CASE("Hosts table: errors name the file, the line and the key", "[common]") {
    const std::string cfg = "host_id: msul1\nhosts_file: hosts.yaml\n";
    CHECK(error_of(cfg, "hosts:\n  - { id: msul1, address: 127.0.0.11 }\n  - { id: msul1, "
                        "address: 127.0.0.12 }\n") ==
          "DIR/hosts.yaml:3: hosts[1].id: duplicate host msul1 (first on line 2)");
    CHECK(error_of(cfg, "hosts:\n  - { id: msul1, address: 127.0.0.11, colour: red }\n") ==
          "DIR/hosts.yaml:2: hosts[0].colour: unknown key");
    CHECK(error_of(cfg, "hosts:\n  - { id: msul1, address: 127.0.0.11 }\n  - { id: \"bad id\", "
                        "address: 127.0.0.12 }\n") ==
          "DIR/hosts.yaml:3: hosts[1].id: not a valid host id (letters, digits, _ and -)");
    CHECK(error_of(cfg, "hosts:\n  - { id: msul1, address: 127.0.0.11, port: 0 }\n") ==
          "DIR/hosts.yaml:2: hosts[0].port: must be between 1 and 65535, got 0");
    CHECK(error_of(cfg, "hosts:\n  - { id: msul1 }\n") == "DIR/hosts.yaml:2: hosts[0].address: missing");
    CHECK(error_of(cfg, "hosts:\n  - { id: msul1, address: no-such-host.invalid }\n") ==
          "DIR/hosts.yaml:2: hosts[0].address: cannot resolve no-such-host.invalid");
}

TEST_CASE("Hosts table: address matching", "[common]") {
    lon::Host h;
    h.resolved = {"127.0.0.11", "::1"};
    CHECK(lon::HostTable::has_address(h, "127.0.0.11"));
    CHECK(lon::HostTable::has_address(h, "::ffff:127.0.0.11"));
    CHECK(lon::HostTable::has_address(h, "::1"));
    CHECK_FALSE(lon::HostTable::has_address(h, "127.0.0.12"));
    CHECK_FALSE(lon::HostTable::has_address(h, ""));
    CHECK(lon::valid_host_id("msu-l1_x"));
    CHECK_FALSE(lon::valid_host_id("../etc"));
    CHECK_FALSE(lon::valid_host_id(""));
    CHECK_FALSE(lon::valid_host_id(std::string(65, 'a')));
}

TEST_CASE("Config: every default when only the required keys are given", "[common]") {
    TempDir dir;
    dir.write("hosts.yaml", hosts_yaml);
    auto c = lon::load_config(dir.write("lonlink.yaml", "host_id: msul1\nhosts_file: hosts.yaml\n"));
    CHECK(c.listen_port == 5663);
    CHECK(c.paths.cert_dir == dir.path() / "certs");
    CHECK(c.paths.socket_dir == dir.path() / "sockets");
    CHECK(c.paths.run_dir == dir.path() / "run");
    CHECK(c.paths.log_dir == dir.path() / "log");
    CHECK(c.paths.spool_dir == dir.path() / "spool");
    CHECK(c.paths.state_dir == dir.path() / "state");
    CHECK(c.tls.expiry_warning_days == 14);
    CHECK_FALSE(c.tls.key_passphrase_file);
    CHECK(c.lonc.allow_insecure);
    CHECK(c.lonc.stable_after == 30s);
    CHECK(c.lonc.backoff_initial == 1s);
    CHECK(c.lonc.backoff_max == 300s);
    CHECK(c.lonc.idle_timeout == 300s);
    CHECK(c.lonc.keepalive == 30s);
    CHECK(c.lond.insecure_commands ==
          std::vector<std::string>{"ping", "pong", "echo", "time", "load", "version"});
    CHECK(c.limits.max_message_bytes == 16u * 1024 * 1024);
    CHECK(c.limits.handshake_timeout == 10s);
    CHECK(c.lonc.max_queued == 10'000);
    CHECK(c.lonc.max_outstanding_per_client == 1'000);
    CHECK(c.lonc.client_idle_timeout == 120s);
    CHECK(c.lond.idle_timeout == 120s); // four keepalive periods
    CHECK(c.lond.max_handler_requests == 64);
    CHECK(c.lond.max_handler_queue == 1'024);
    CHECK(c.lond.handler_connections == 4);
    CHECK(c.limits.max_pending_inits == 512);
    CHECK(c.limits.max_pending_inits_per_address == 32);
    CHECK(c.limits.large_message_heap == 64ULL * 1024 * 1024);
    CHECK(c.self().id == "msul1");
    CHECK(c.self().resolved == std::vector<std::string>{"127.0.0.11"});
}

TEST_CASE("Config: the file is found through a relative path and made absolute", "[common]") {
    TempDir dir;
    dir.write("conf/hosts.yaml", hosts_yaml);
    dir.write("conf/lonlink.yaml", "host_id: msul1\nhosts_file: ./hosts.yaml\n"
                                   "paths: { cert_dir: ../pki/./certs }\n");
    auto old = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    lon::Config c;
    try {
        c = lon::load_config("conf/../conf/lonlink.yaml");
    } catch (...) {
        std::filesystem::current_path(old);
        throw;
    }
    std::filesystem::current_path(old);
    CHECK(c.file == dir.path() / "conf" / "lonlink.yaml");
    CHECK(c.file.is_absolute());
    CHECK(c.hosts_file == dir.path() / "conf" / "hosts.yaml");
    CHECK(c.paths.cert_dir == dir.path() / "pki" / "certs");
}

TEST_CASE("Config: set values override the defaults", "[common]") {
    TempDir dir;
    dir.write("hosts.yaml", hosts_yaml);
    auto c = lon::load_config(dir.write("lonlink.yaml", R"(host_id: msul2
hosts_file: hosts.yaml
listen:
  address: 127.0.0.12
  port: 15663
lonc:
  allow_insecure: false
  max_connections: 64
  retries: 1
  stable_after: 250ms
  backoff_initial: 2s
  backoff_max: 1h
lond:
  allow_insecure: false
  insecure_commands: [ping]
  load_limit: 4
limits:
  max_message_bytes: 1KiB
  handshake_timeout: 1m
tls:
  expiry_warning_days: 30
)"));
    CHECK(c.listen_address == "127.0.0.12");
    CHECK(c.listen_port == 15663);
    CHECK_FALSE(c.lonc.allow_insecure);
    CHECK(c.lonc.max_connections == 64);
    CHECK(c.lonc.retries == 1);
    CHECK(c.lonc.stable_after == 250ms);
    CHECK(c.lonc.backoff_initial == 2s);
    CHECK(c.lonc.backoff_max == 1h);
    CHECK_FALSE(c.lond.allow_insecure);
    CHECK(c.lond.insecure_commands == std::vector<std::string>{"ping"});
    CHECK(c.lond.load_limit == Approx(4.0));
    CHECK(c.limits.max_message_bytes == 1024);
    CHECK(c.limits.handshake_timeout == 60s);
    CHECK(c.tls.expiry_warning_days == 30);
    CHECK(c.self().address == "127.0.0.12");
}

TEST_CASE("Config: an empty section means its defaults", "[common]") {
    TempDir dir;
    dir.write("hosts.yaml", hosts_yaml);
    auto c = lon::load_config(
        dir.write("lonlink.yaml", "host_id: msul1\nhosts_file: hosts.yaml\nlonc:\n#  retries: 2\n"));
    CHECK(c.lonc.retries == 5);
}

TEST_CASE("Config: values out of range name their key and line", "[common]") {
    const std::string head = "host_id: msul1\nhosts_file: hosts.yaml\n";
    const std::pair<std::string, std::string> cases[] = {
        {"lonc: { max_connections: 0 }",
         "DIR/lonlink.yaml:3: lonc.max_connections: must be between 1 and 64, got 0"},
        {"lonc: { max_connections: 65 }",
         "DIR/lonlink.yaml:3: lonc.max_connections: must be between 1 and 64, got 65"},
        {"lonc: { retries: 0 }", "DIR/lonlink.yaml:3: lonc.retries: must be between 1 and 1000, got 0"},
        {"lonc: { retries: 1001 }",
         "DIR/lonlink.yaml:3: lonc.retries: must be between 1 and 1000, got 1001"},
        {"lonc: { retries: 2.5 }", "DIR/lonlink.yaml:3: lonc.retries: expected an integer, got \"2.5\""},
        {"lonc: { keepalive: 0s }", "DIR/lonlink.yaml:3: lonc.keepalive: must be more than zero"},
        {"lonc: { idle_timeout: 0 }", "DIR/lonlink.yaml:3: lonc.idle_timeout: must be more than zero"},
        // Found by fuzz/fuzz_config: lond.idle_timeout defaults to 4 x keepalive, which
        // overflowed (undefined behaviour) for a keepalive near the largest duration.
        {"lonc: { keepalive: 9223372036854775807ms }",
         "DIR/lonlink.yaml:3: lonc.keepalive: must be at most 365d, got \"9223372036854775807ms\""},
        {"lonc: { request_timeout: 366d }",
         "DIR/lonlink.yaml:3: lonc.request_timeout: must be at most 365d, got \"366d\""},
        {"lond: { idle_timeout: 8761h }",
         "DIR/lonlink.yaml:3: lond.idle_timeout: must be at most 365d, got \"8761h\""},
        {"limits: { handshake_timeout: 31536000001ms }",
         "DIR/lonlink.yaml:3: limits.handshake_timeout: must be at most 365d, got \"31536000001ms\""},
        {"lonc: { backoff_initial: 10s, backoff_max: 5s }",
         "DIR/lonlink.yaml:3: lonc.backoff_max: must not be less than lonc.backoff_initial"},
        {"listen: { port: 0 }", "DIR/lonlink.yaml:3: listen.port: must be between 1 and 65535, got 0"},
        {"listen: { port: -1 }", "DIR/lonlink.yaml:3: listen.port: must be between 1 and 65535, got -1"},
        {"limits: { max_message_bytes: 1023 }",
         "DIR/lonlink.yaml:3: limits.max_message_bytes: must be between 1KiB and 1GiB"},
        {"limits: { max_message_bytes: 1025MiB }",
         "DIR/lonlink.yaml:3: limits.max_message_bytes: must be between 1KiB and 1GiB"},
        {"limits: { large_message_heap: 1025MiB }",
         "DIR/lonlink.yaml:3: limits.large_message_heap: must be at most 1GiB"},
        {"limits: { handshake_timeout: 0ms }",
         "DIR/lonlink.yaml:3: limits.handshake_timeout: must be more than zero"},
        {"lond: { load_limit: 0 }", "DIR/lonlink.yaml:3: lond.load_limit: must be more than zero"},
        {"lond: { load_limit: -1.5 }", "DIR/lonlink.yaml:3: lond.load_limit: must be more than zero"},
        {"lond: { load_limit: .nan }", "DIR/lonlink.yaml:3: lond.load_limit: expected a number"},
        {"lond: { load_limit: high }", "DIR/lonlink.yaml:3: lond.load_limit: expected a number"},
        {"lond: { insecure_commands: ping }",
         "DIR/lonlink.yaml:3: lond.insecure_commands: expected a list of command names"},
        {"lond:\n  insecure_commands:\n    - ping\n    - \"\"\n",
         "DIR/lonlink.yaml:6: lond.insecure_commands[1]: expected a non-empty string"},
        {"tls: { expiry_warning_days: -1 }",
         "DIR/lonlink.yaml:3: tls.expiry_warning_days: must be between 0 and 3650, got -1"},
        {"lonc: 5", "DIR/lonlink.yaml:3: lonc: expected a map"},
        {"listen: { address: }", "DIR/lonlink.yaml:3: listen.address: expected a non-empty string"},
    };
    for (const auto& [text, expected] : cases) {
        INFO(text);
        CHECK(error_of(head + text + "\n") == expected);
    }
}

TEST_CASE("Config: unknown keys are rejected at every level", "[common]") {
    const std::string head = "host_id: msul1\nhosts_file: hosts.yaml\n";
    for (const auto& [section, key] : std::vector<std::pair<std::string, std::string>>{
             {"listen", "adress"},
             {"paths", "cert_directory"},
             {"tls", "cert"},
             {"lonc", "retry"},
             {"lond", "handlers"},
             {"limits", "max_line"},
         }) {
        INFO(section << "." << key);
        CHECK(error_of(head + "\n" + section + ":\n  " + key + ": 1\n") ==
              "DIR/lonlink.yaml:5: " + section + "." + key + ": unknown key");
    }
}

TEST_CASE("Config: a key given twice is an error, not a silent choice", "[common]") {
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nhost_id: msul2\n") ==
          "DIR/lonlink.yaml:3: host_id: given twice");
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlonc: { retries: 3, retries: 4 }\n") ==
          "DIR/lonlink.yaml:3: lonc.retries: given twice");
}

TEST_CASE("Config: required keys, bad ids, syntax and unreadable files", "[common]") {
    CHECK(error_of("host_id: msul1\n") == "DIR/lonlink.yaml:1: hosts_file: missing (path of the hosts table)");
    CHECK(error_of("\n\nhost_id: ../etc\nhosts_file: hosts.yaml\n") ==
          "DIR/lonlink.yaml:3: host_id: not a valid host id (letters, digits, _ and -)");
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlonc: { retries: [1, 2 }\n")
              .rfind("DIR/lonlink.yaml:3: ", 0) == 0);
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\n  bad indent: x\n")
              .rfind("DIR/lonlink.yaml:3: ", 0) == 0);
    CHECK(error_of("") == "DIR/lonlink.yaml:1: expected a map of settings");
    CHECK(error_of("- just\n- a list\n") == "DIR/lonlink.yaml:1: expected a map of settings");
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlonc: { allow_insecure: 1 }\n") ==
          "DIR/lonlink.yaml:3: lonc.allow_insecure: expected true or false");

    TempDir dir;
    try {
        (void)lon::load_config(dir.path() / "missing.yaml");
        FAIL("no error for a missing file");
    } catch (const lon::ConfigError& e) {
        CHECK(std::string(e.what()) ==
              (dir.path() / "missing.yaml").string() + ": cannot read: No such file or directory");
    }
    dir.write("hosts.yaml", hosts_yaml);
    std::filesystem::create_directory(dir.path() / "adir");
    auto file = dir.write("lonlink.yaml", "host_id: msul1\nhosts_file: adir\n");
    CHECK_THROWS_WITH(lon::load_config(file), Catch::Contains("adir: cannot read"));
}

TEST_CASE("Config: liveness and limit keys", "[common]") {
    TempDir dir;
    dir.write("hosts.yaml", hosts_yaml);
    auto c = lon::load_config(dir.write("lonlink.yaml", R"(host_id: msul1
hosts_file: hosts.yaml
lonc: { keepalive: 2s, max_queued: 50, max_outstanding_per_client: 7, client_idle_timeout: 3s }
lond: { idle_timeout: 9s, max_handler_requests: 2, max_handler_queue: 0, handler_connections: 7 }
limits: { max_pending_inits: 10, max_pending_inits_per_address: 3, large_message_heap: 8MiB }
)"));
    CHECK(c.lonc.max_queued == 50);
    CHECK(c.lonc.max_outstanding_per_client == 7);
    CHECK(c.lonc.client_idle_timeout == 3s);
    CHECK(c.lond.idle_timeout == 9s);
    CHECK(c.lond.max_handler_requests == 2);
    CHECK(c.lond.max_handler_queue == 0);
    CHECK(c.lond.handler_connections == 7);
    CHECK(c.limits.max_pending_inits == 10);
    CHECK(c.limits.max_pending_inits_per_address == 3);
    CHECK(c.limits.large_message_heap == 8ULL * 1024 * 1024);

    SECTION("lond.idle_timeout follows lonc.keepalive when unset") {
        auto d = lon::load_config(dir.write("k.yaml", "host_id: msul1\nhosts_file: hosts.yaml\n"
                                                      "lonc: { keepalive: 5s }\n"));
        CHECK(d.lond.idle_timeout == 20s);
        auto e = lon::load_config(dir.write("k2.yaml", "host_id: msul1\nhosts_file: hosts.yaml\n"
                                                       "lonc: { keepalive: 5s }\nlond: { load_limit: 3 }\n"));
        CHECK(e.lond.idle_timeout == 20s);
    }
    SECTION("bad values name file, line and key") {
        CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlonc: { max_queued: 0 }\n")
                  .find("lonlink.yaml:3: lonc.max_queued:") != std::string::npos);
        CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlond:\n  idle_timeout: 0s\n")
                  .find("lonlink.yaml:4: lond.idle_timeout:") != std::string::npos);
        CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlimits: { max_pending_inits: -1 }\n")
                  .find("lonlink.yaml:3: limits.max_pending_inits:") != std::string::npos);
        CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlond: { handler_connections: 0 }\n")
                  .find("lonlink.yaml:3: lond.handler_connections:") != std::string::npos);
    }
}

TEST_CASE("Config: a lond.handler path too long for a unix socket is refused at load",
          "[common]") {
    const std::string head = "host_id: msul1\nhosts_file: hosts.yaml\n";
    // sun_path holds 108 bytes with the terminating NUL: 107 bytes of path at most.
    std::string ok_path = "/" + std::string(106, 'h');
    std::string long_path = "/" + std::string(107, 'h');
    CHECK(error_of(head + "lond: { handler: " + ok_path + " }\n").empty());
    CHECK(error_of(head + "\nlond:\n  handler: " + long_path + "\n") ==
          "DIR/lonlink.yaml:5: lond.handler: path too long for a unix socket (108 bytes, at "
          "most 107)");
    // A relative path counts as the absolute path it resolves to.
    CHECK(error_of(head + "lond: { handler: " + std::string(107, 'r') + " }\n")
              .rfind("DIR/lonlink.yaml:3: lond.handler: path too long for a unix socket", 0) ==
          0);
}

TEST_CASE("Config: a peer whose name does not resolve is loaded, unresolved; our own must "
          "resolve",
          "[common]") {
    // A DNS outage must not stop a start or a reload: the peer is kept with no addresses
    // and the reason, to be resolved again later (.invalid never resolves, RFC 6761).
    TempDir dir;
    dir.write("hosts.yaml", "hosts:\n  - { id: msul1, address: 127.0.0.11 }\n"
                            "  - { id: msul2, address: peer.lonlink.invalid }\n");
    auto c = lon::load_config(dir.write("lonlink.yaml", "host_id: msul1\nhosts_file: hosts.yaml\n"));
    const lon::Host* peer = c.hosts.find("msul2");
    REQUIRE(peer != nullptr);
    CHECK(peer->resolved.empty());
    std::string suffix = "hosts.yaml:3: hosts[1].address: cannot resolve peer.lonlink.invalid";
    CHECK(peer->resolve_error.size() > suffix.size());
    CHECK(peer->resolve_error.find(suffix) == peer->resolve_error.size() - suffix.size());
    CHECK(c.self().resolve_error.empty());
    // Resolved later: the addresses count from then on.
    CHECK_FALSE(lon::HostTable::has_address(*peer, "127.0.0.12"));
    c.hosts.set_resolved("msul2", {"127.0.0.12"});
    CHECK(lon::HostTable::has_address(*c.hosts.find("msul2"), "127.0.0.12"));
    CHECK(c.hosts.find("msul2")->resolve_error.empty());
    // This host's own entry is needed to bind: it must resolve.
    CHECK(error_of("host_id: msul2\nhosts_file: hosts.yaml\n",
                   "hosts:\n  - { id: msul1, address: 127.0.0.11 }\n"
                   "  - { id: msul2, address: peer.lonlink.invalid }\n") ==
          "DIR/hosts.yaml:3: hosts[1].address: cannot resolve peer.lonlink.invalid");
}

TEST_CASE("Config: durations up to 365d are taken, and lond.idle_timeout follows them", "[common]") {
    TempDir dir;
    dir.write("hosts.yaml", hosts_yaml);
    auto c = lon::load_config(dir.write(
        "lonlink.yaml", "host_id: msul1\nhosts_file: hosts.yaml\nlonc: { keepalive: 365d }\n"));
    CHECK(c.lonc.keepalive == lon::max_config_duration);
    CHECK(c.lond.idle_timeout == 4 * lon::max_config_duration);
}

TEST_CASE("Config: user and log", "[common][logs][privileges]") {
    TempDir dir;
    dir.write("hosts.yaml", hosts_yaml);
    auto c = lon::load_config(dir.write("lonlink.yaml", "host_id: msul1\nhosts_file: hosts.yaml\n"));
    CHECK_FALSE(c.user);
    CHECK(c.log.target == lon::LogTarget::file);
    CHECK(c.log.level == "info");
    c = lon::load_config(dir.write("lonlink.yaml", "host_id: msul1\nhosts_file: hosts.yaml\n"
                                                    "user: root\nlog: { target: syslog, level: debug }\n"));
    CHECK(c.user == std::optional<std::string>("root"));
    CHECK(c.log.target == lon::LogTarget::syslog);
    CHECK(c.log.level == "debug");
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlog:\n  target: pigeon\n") ==
          "DIR/lonlink.yaml:4: log.target: 'pigeon' is not one of file, syslog, stderr");
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlog: { level: loud }\n").rfind(
              "DIR/lonlink.yaml:3: log.level: 'loud' is not one of", 0) == 0);
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nuser: no-such-user-lonlink\n")
              .rfind("DIR/lonlink.yaml:3: user: no user named no-such-user-lonlink", 0) == 0);
    CHECK(error_of("host_id: msul1\nhosts_file: hosts.yaml\nlog: { colour: red }\n") ==
          "DIR/lonlink.yaml:3: log.colour: unknown key");
}
