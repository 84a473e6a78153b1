// LON-CAPA hosts.tab tables (issue 10 §7; common/hosts_tab.hpp) and the per-child hosts
// tables a parent renders (issue 9 §7; host_table.hpp render_host_table).
#include <catch2/catch.hpp>

#include "config.hpp"
#include "host_table.hpp"
#include "hosts_tab.hpp"
#include "temp_dir.hpp"

namespace {

/// The ConfigError message of loading `text` as hosts.tab, the folder shown as DIR ("" when
/// it loads).
std::string tab_error(const std::string& text) {
    TempDir dir;
    return config_error(dir, [&] { (void)lon::load_host_table(dir.write("hosts.tab", text)); });
}

} // namespace

TEST_CASE("hosts.tab: fields, comments, blank lines, extra fields; port 5663", "[common][hosts_tab]") {
    TempDir dir;
    auto table = lon::load_host_table(dir.write("hosts.tab",
                                                "# LON-CAPA cluster table\n"
                                                "\n"
                                                "msul1:msu:library:127.0.0.11:https:msu.edu\n"
                                                "   # indented comment\n"
                                                "msul2:msu:access:127.0.0.12\n"
                                                "\t \n"
                                                "v6:ox:access:[::1]:http:ox.ac.uk:extra:fields\n"
                                                "  padded:msu:library:127.0.0.14  \r\n"
                                                "last:msu:library:127.0.0.15"));
    REQUIRE(table.hosts().size() == 5);
    const lon::Host* a = table.find("msul1");
    REQUIRE(a != nullptr);
    CHECK(a->domain == "msu");
    CHECK(a->role == "library");
    CHECK(a->address == "127.0.0.11");
    CHECK(a->port == 5663);
    CHECK(a->resolved == std::vector<std::string>{"127.0.0.11"});
    CHECK(table.find("msul2")->role == "access");
    const lon::Host* v6 = table.find("v6");
    REQUIRE(v6 != nullptr);
    CHECK(v6->address == "::1"); // brackets are notation only
    CHECK(v6->resolved == std::vector<std::string>{"::1"});
    CHECK(table.find("padded")->address == "127.0.0.14"); // blanks and CR around a line
    CHECK(table.find("last") != nullptr);                  // no final newline
    CHECK(table.hosts().front().id == "msul1");            // file order
}

TEST_CASE("hosts.tab: a DNS name resolves; one that does not is kept with file and line",
          "[common][hosts_tab]") {
    TempDir dir;
    auto table = lon::load_host_table(
        dir.write("hosts.tab", "here:d:library:localhost\n\nb:d:access:nowhere.invalid\n"));
    CHECK_FALSE(table.find("here")->resolved.empty());
    const lon::Host* b = table.find("b");
    CHECK(b->resolved.empty());
    CHECK(b->resolve_error.find("hosts.tab:3: name: cannot resolve nowhere.invalid") !=
          std::string::npos);
}

TEST_CASE("hosts.tab: every malformed line is an error naming file and line",
          "[common][hosts_tab]") {
    CHECK(tab_error("a:d:r:127.0.0.1\n") == "");
    CHECK(tab_error("a:d:r:127.0.0.1\nb:d:r\n") ==
          "DIR/hosts.tab:2: line: expected lonHostID:domain:role:name[:protocol[:intdom]], "
          "found 3 field(s)");
    CHECK(tab_error("justaname\n") ==
          "DIR/hosts.tab:1: line: expected lonHostID:domain:role:name[:protocol[:intdom]], "
          "found 1 field(s)");
    CHECK(tab_error("\n\n:d:r:127.0.0.1\n") == "DIR/hosts.tab:3: lonHostID: empty");
    CHECK(tab_error("a::r:127.0.0.1\n") == "DIR/hosts.tab:1: domain: empty");
    CHECK(tab_error("a:d::127.0.0.1\n") == "DIR/hosts.tab:1: role: empty");
    CHECK(tab_error("a:d:r:\n") == "DIR/hosts.tab:1: name: empty");
    CHECK(tab_error("a:d:r::https\n") == "DIR/hosts.tab:1: name: empty");
    CHECK(tab_error("a b:d:r:127.0.0.1\n") == "DIR/hosts.tab:1: lonHostID: contains a space or control character");
    CHECK(tab_error("a:d:r:127.0.0.1 x\n") == "DIR/hosts.tab:1: name: contains a space or control character");
    CHECK(tab_error("a.b:d:r:127.0.0.1\n") ==
          "DIR/hosts.tab:1: lonHostID: not a valid host id (letters, digits, _ and -): a.b");
    CHECK(tab_error("a:d:r:127.0.0.1\nb:d:r:127.0.0.2\na:d:r:127.0.0.3\n") ==
          "DIR/hosts.tab:3: lonHostID: duplicate host a (first on line 1)");
    CHECK(tab_error(std::string("a:d:r:127.0.0.1\0x\n", 18)) ==
          "DIR/hosts.tab:1: name: contains a space or control character");
    CHECK(tab_error("a:d\rx:r:127.0.0.1\n") ==
          "DIR/hosts.tab:1: domain: contains a space or control character");
}

TEST_CASE("hosts.tab: an IPv6 literal name is written in brackets, and only that",
          "[common][hosts_tab]") {
    CHECK(tab_error("a:d:r:[fd00::1]\n") == "");
    CHECK(tab_error("a:d:r:[fd00::1]:https:x\n") == "");
    CHECK(tab_error("a:d:r:[::ffff:10.0.0.1]\n") == "");
    // Unbracketed, its colons split it: the name is "fd00" and the rest protocol/intdom,
    // which is not what was meant, but it is a well-formed line; a lone "::1" leaves the
    // name empty.
    CHECK(tab_error("a:d:r:::1\n") == "DIR/hosts.tab:1: name: empty");
    CHECK(tab_error("a:d:r:[fd00::1\n") == "DIR/hosts.tab:1: name: '[' without ']'");
    CHECK(tab_error("a:d:r:[fd00::1]x:https\n") == "DIR/hosts.tab:1: name: ']' must end the field");
    CHECK(tab_error("a:d:r:[host.example.edu]\n") ==
          "DIR/hosts.tab:1: name: not an IPv6 literal in brackets: [host.example.edu]");
    CHECK(tab_error("a:d:r:[10.0.0.1]\n") ==
          "DIR/hosts.tab:1: name: not an IPv6 literal in brackets: [10.0.0.1]");
    CHECK(tab_error("a:d:r:[]\n") == "DIR/hosts.tab:1: name: not an IPv6 literal in brackets: []");
    CHECK(tab_error("a:d:r:fd00]\n") ==
          "DIR/hosts.tab:1: name: stray bracket (an IPv6 literal is written [addr]): fd00]");
    CHECK(tab_error("a:[d]:r:127.0.0.1\n") ==
          "DIR/hosts.tab:1: domain: brackets are only for an IPv6 literal name");
    // Brackets in the ignored fields after the name are ignored with them.
    CHECK(tab_error("a:d:r:127.0.0.1:[x:y\n") == "");
}

TEST_CASE("hosts.tab: only a name ending in .tab is read as hosts.tab", "[common][hosts_tab]") {
    CHECK(lon::is_hosts_tab("/etc/lonlink/hosts.tab"));
    CHECK(lon::is_hosts_tab("hosts.tab"));
    CHECK_FALSE(lon::is_hosts_tab("/etc/lonlink/hosts.yaml"));
    CHECK_FALSE(lon::is_hosts_tab("/etc/lonlink/hosts.tab.bak"));
    CHECK_FALSE(lon::is_hosts_tab("/etc/lonlink/tab"));
    // A hosts.tab line in a .yaml file is a YAML error, not a table.
    TempDir dir;
    CHECK_FALSE(config_error(dir, [&] {
                    (void)lon::load_host_table(dir.write("hosts.yaml", "a:d:r:127.0.0.1\n"));
                }).empty());
}

TEST_CASE("render_host_table: a child's two-host table reads back the same, in either format",
          "[common][hosts_tab][host_table_cost]") {
    std::vector<lon::Host> hosts(3);
    hosts[0] = {"self", "127.0.0.11", 5663, "msu", "library", {}, {}};
    hosts[1] = {"v6peer", "fd00::1", 5663, "ox", "access", {}, {}};
    hosts[2] = {"odd", "127.0.0.13", 6001, "", "", {}, {}};
    for (const char* name : {"hosts.yaml", "hosts.tab"}) {
        bool tab = std::string(name) == "hosts.tab";
        std::vector<const lon::Host*> pick{&hosts[0], &hosts[1]};
        if (!tab) {
            pick.push_back(&hosts[2]); // a port other than 5663 needs YAML
        }
        std::string text = lon::render_host_table(name, pick);
        TempDir dir;
        auto table = lon::load_host_table(dir.write(name, text));
        INFO(name << ":\n" << text);
        REQUIRE(table.hosts().size() == pick.size());
        for (const lon::Host* h : pick) {
            const lon::Host* back = table.find(h->id);
            REQUIRE(back != nullptr);
            CHECK(back->address == h->address);
            CHECK(back->port == h->port);
            CHECK(back->domain == (tab && h->domain.empty() ? "-" : h->domain));
            CHECK(back->role == (tab && h->role.empty() ? "-" : h->role));
        }
    }
    // YAML quoting keeps odd but valid strings intact.
    lon::Host odd{"q", "127.0.0.1", 5663, "a: b", "#x", {}, {}};
    TempDir dir;
    auto table = lon::load_host_table(
        dir.write("hosts.yaml", lon::render_host_table("hosts.yaml", {&odd})));
    CHECK(table.find("q")->domain == "a: b");
    CHECK(table.find("q")->role == "#x");
}
