#include <catch2/catch.hpp>

#include <algorithm>

#include "config.hpp"
#include "host_table.hpp"
#include "host_table_events.hpp"
#include "temp_dir.hpp"

namespace {

/// The ConfigError message of loading `text` as a hosts table, with the folder shown as DIR
/// ("" when it loads).
std::string hosts_error(const std::string& text) {
    TempDir dir;
    return config_error(dir, [&] { (void)lon::load_host_table(dir.write("hosts.yaml", text)); });
}

} // namespace

TEST_CASE("HostTable: loads every field, with the port defaulting to 5663", "[common]") {
    TempDir dir;
    auto table = lon::load_host_table(dir.write("hosts.yaml", R"(# cluster
hosts:
  - id: msul1
    address: 127.0.0.11
    port: 6000
    domain: msu
    role: library
  - { id: msul2, address: "::1" }
  - { id: Ann_Arbor-3, address: 127.0.0.13, domain: null }
)"));
    REQUIRE(table.hosts().size() == 3);
    const lon::Host* a = table.find("msul1");
    REQUIRE(a != nullptr);
    CHECK(a->address == "127.0.0.11");
    CHECK(a->port == 6000);
    CHECK(a->domain == "msu");
    CHECK(a->role == "library");
    CHECK(a->resolved == std::vector<std::string>{"127.0.0.11"});
    const lon::Host* b = table.find("msul2");
    REQUIRE(b != nullptr);
    CHECK(b->port == 5663);
    CHECK(b->domain.empty());
    CHECK(b->resolved == std::vector<std::string>{"::1"});
    CHECK(table.find("Ann_Arbor-3") != nullptr);
    CHECK(table.find("ann_arbor-3") == nullptr); // ids are case-sensitive (file names)
    CHECK(table.find("msul") == nullptr);
    CHECK(table.find("") == nullptr);
}

TEST_CASE("HostTable: a DNS name is resolved to numeric addresses", "[common]") {
    TempDir dir;
    auto table = lon::load_host_table(
        dir.write("hosts.yaml", "hosts:\n  - { id: here, address: localhost }\n"));
    const lon::Host& h = table.hosts().at(0);
    CHECK(h.address == "localhost");
    REQUIRE_FALSE(h.resolved.empty());
    bool loopback = std::any_of(h.resolved.begin(), h.resolved.end(), [](const std::string& a) {
        return a.rfind("127.", 0) == 0 || a == "::1";
    });
    CHECK(loopback);
    CHECK(std::find(h.resolved.begin(), h.resolved.end(), "localhost") == h.resolved.end());
}

TEST_CASE("HostTable: structural errors name the file, line and key", "[common]") {
    CHECK(hosts_error("hosts:\n  - { id: a, address: 127.0.0.1 }\n") == "");
    CHECK(hosts_error("servers: []\n") == "DIR/hosts.yaml:1: servers: unknown key");
    CHECK(hosts_error("# nothing\nother: 1\n").find("other: unknown key") != std::string::npos);
    CHECK(hosts_error("hosts: msul1\n") == "DIR/hosts.yaml:1: hosts: expected a list of hosts");
    CHECK(hosts_error("hosts:\n  - msul1\n") == "DIR/hosts.yaml:2: hosts[0]: expected a map");
    CHECK(hosts_error("hosts:\n  - { address: 127.0.0.1 }\n") == "DIR/hosts.yaml:2: hosts[0].id: missing");
    CHECK(hosts_error("hosts:\n  - { id: a, address: 127.0.0.1, port: http }\n") ==
          "DIR/hosts.yaml:2: hosts[0].port: expected an integer, got \"http\"");
    CHECK(hosts_error("hosts:\n  - { id: a, address: 127.0.0.1, port: 65536 }\n") ==
          "DIR/hosts.yaml:2: hosts[0].port: must be between 1 and 65535, got 65536");
    CHECK(hosts_error("hosts:\n  - { id: a, address: \"\" }\n") ==
          "DIR/hosts.yaml:2: hosts[0].address: expected a non-empty string");
    CHECK(hosts_error("hosts:\n  - { id: a, address: 127.0.0.1, address: 127.0.0.2 }\n") ==
          "DIR/hosts.yaml:2: hosts[0].address: given twice");
}

TEST_CASE("HostTable: duplicates name both lines; an unresolvable name is kept with its reason", "[common]") {
    CHECK(hosts_error("hosts:\n"
                      "  - id: x1\n"
                      "    address: 127.0.0.1\n"
                      "  - id: x2\n"
                      "    address: 127.0.0.2\n"
                      "  - id: x1\n"
                      "    address: 127.0.0.3\n") ==
          "DIR/hosts.yaml:6: hosts[2].id: duplicate host x1 (first on line 2)");
    // An unresolvable name is not a load error (a DNS outage must not stop a start): the host
    // is kept without addresses, with the reason (load_config insists on our own entry).
    TempDir dir;
    auto table = lon::load_host_table(dir.write(
        "hosts.yaml", "hosts:\n  - { id: a, address: 127.0.0.1 }\n"
                      "  - { id: b, address: nowhere.invalid }\n"));
    const lon::Host* b = table.find("b");
    REQUIRE(b != nullptr);
    CHECK(b->resolved.empty());
    CHECK(b->resolve_error.find("hosts.yaml:3: hosts[1].address: cannot resolve nowhere.invalid") !=
          std::string::npos);
    CHECK(table.find("a")->resolve_error.empty());
}

TEST_CASE("valid_host_id: letters, digits, _ and -, 1 to 64 of them", "[common]") {
    CHECK(lon::valid_host_id("a"));
    CHECK(lon::valid_host_id("Z9_-"));
    CHECK(lon::valid_host_id(std::string(64, 'x')));
    for (const std::string bad : {"", "a.b", "a b", "a:b", "a/b", "..", "ä", "a\n", "-\t"}) {
        INFO(bad);
        CHECK_FALSE(lon::valid_host_id(bad));
    }
    CHECK_FALSE(lon::valid_host_id(std::string("a\0b", 3)));
    CHECK_FALSE(lon::valid_host_id(std::string(65, 'x')));
}

TEST_CASE("HostTable::has_address: exact numeric match, IPv4-mapped IPv6 too", "[common]") {
    lon::Host h;
    h.resolved = {"127.0.0.11", "2001:db8::1"};
    CHECK(lon::HostTable::has_address(h, "127.0.0.11"));
    CHECK(lon::HostTable::has_address(h, "::ffff:127.0.0.11"));
    CHECK(lon::HostTable::has_address(h, "2001:db8::1"));
    CHECK_FALSE(lon::HostTable::has_address(h, "127.0.0.1"));   // no prefix matching
    CHECK_FALSE(lon::HostTable::has_address(h, "127.0.0.110")); // nor suffix
    CHECK_FALSE(lon::HostTable::has_address(h, "::ffff:127.0.0.12"));
    CHECK_FALSE(lon::HostTable::has_address(h, "::ffff:2001:db8::1"));
    CHECK_FALSE(lon::HostTable::has_address(h, "2001:db8::2"));
    lon::Host none;
    CHECK_FALSE(lon::HostTable::has_address(none, "127.0.0.11"));
}

namespace {

std::string describe(const lon::Host& h) {
    return h.id + "|" + h.address + "|" + std::to_string(h.port) + "|" + h.domain + "|" + h.role;
}

} // namespace

TEST_CASE("hosts.yaml: the parser-event reader gives what the node tree gives, or leaves it to the tree",
          "[common][host_table_events]") {
    // {text, whether the event reader takes it}. Whatever it takes, the node tree must read to
    // the same hosts; whatever it leaves, the tree reads (or refuses, with its message).
    const std::vector<std::pair<std::string, bool>> cases = {
        {"hosts:\n  - id: a\n    address: 127.0.0.1\n    port: 6000\n    domain: d\n    role: r\n", true},
        {"hosts: [{id: a, address: 127.0.0.1}, {id: b, address: \"::1\", port: '7'}]\n", true},
        {"# c\nhosts:\n- {id: a, address: 127.0.0.1, domain: null, role: ''}\n", true},
        {"hosts:\n  - {id: a, address: 127.0.0.1, domain: ~, role:}\n", true},
        {"hosts:\n  - &x {id: a, address: !!str 127.0.0.1, port: +80}\n", true},
        {"hosts: []\n", true},
        {"hosts:\n  - {id: a, address: 127.0.0.1}\n---\nhosts: 1\n", true}, // YAML::Load: first document
        {"hosts:\n  - &x {id: a, address: 127.0.0.1}\n  - *x\n", false}, // an alias
        {"hosts:\n  - {id: a, address: &y 127.0.0.1}\n  - {id: b, address: *y}\n", false},
        {"hosts:\n  - {id: a, address: 127.0.0.1}\n  - {id: a, address: 127.0.0.2}\n", false},
        {"hosts:\n  - {id: a, address: 127.0.0.1, id: b}\n", false},
        {"hosts:\n  - {id: a.b, address: 127.0.0.1}\n", false},
        {"hosts:\n  - {id: '', address: 127.0.0.1}\n", false},
        {"hosts:\n  - {id: ~, address: 127.0.0.1}\n", false},
        {"hosts:\n  - {address: 127.0.0.1}\n", false},
        {"hosts:\n  - {id: a}\n", false},
        {"hosts:\n  - {id: a, address: ~}\n", false},
        {"hosts:\n  - {id: a, address: 127.0.0.1, port: 0}\n", false},
        {"hosts:\n  - {id: a, address: 127.0.0.1, port: 65536}\n", false},
        {"hosts:\n  - {id: a, address: 127.0.0.1, port: 1x}\n", false},
        {"hosts:\n  - {id: a, address: 127.0.0.1, port: ~}\n", false},
        {"hosts:\n  - {id: a, address: [127.0.0.1]}\n", false},
        {"hosts:\n  - {id: a, address: 127.0.0.1, role: {x: 1}}\n", false},
        {"hosts:\n  - {id: a, address: 127.0.0.1, name: x}\n", false},
        {"hosts:\n  - {id: a, address: 127.0.0.1, ~: x}\n", false},
        {"hosts:\n  - a\n", false},
        {"hosts: a\n", false},
        {"hosts:\n", false},
        {"hosts: []\nhosts: []\n", false},
        {"hosts: []\nother: 1\n", false},
        {"- hosts\n", false},
        {"", false},
        {"hosts: [\n", false}, // a syntax error
    };
    TempDir dir;
    auto file = dir.path() / "hosts.yaml";
    for (const auto& [text, plain] : cases) {
        INFO(text);
        auto events = lon::read_plain_hosts_yaml(text);
        CHECK(events.has_value() == plain);
        if (!events) {
            continue;
        }
        lon::HostTable tree = lon::load_host_table_nodes(file, text);
        REQUIRE(tree.hosts().size() == events->size());
        lon::HostTable loaded = lon::load_host_table(file, text);
        for (std::size_t i = 0; i < events->size(); ++i) {
            CHECK(describe((*events)[i].host) == describe(tree.hosts()[i]));
            CHECK(describe(loaded.hosts()[i]) == describe(tree.hosts()[i]));
            CHECK(loaded.hosts()[i].resolved == tree.hosts()[i].resolved);
        }
    }
}
