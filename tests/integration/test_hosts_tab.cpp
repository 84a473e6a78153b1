// Issue 10 §7: `hosts_file` may name a LON-CAPA hosts.tab (chosen by the ".tab" suffix;
// format in common/hosts_tab.hpp). A cluster on such a table links; HUP (both daemons) and
// USR2 (lond) take a changed table: a new peer gets its socket and is served, a removed peer
// loses its socket, its children and its connections; a malformed line is refused at start
// and on HUP, naming file and line, and the previous table stays in use.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <set>

#include "harness.hpp"

using namespace it;

namespace {

/// hosts.tab lines for the hosts `which` of `c` (LON-CAPA's six fields).
std::string tab_lines(const Cluster& c, const std::set<int>& which) {
    std::string text = "# lonHostID:domain:role:name:protocol:intdom\n";
    for (int i : which) {
        text += c.id(i) + ":test:" + (i == 0 ? "library" : "access") + ":" + c.address(i) +
                ":https:test.example.edu\n";
    }
    return text;
}

/// Points host `i`'s config at `table` (a .tab file) instead of the cluster's hosts.yaml.
void use_table(const Cluster& c, int i, const std::filesystem::path& table) {
    std::string text = read_file(c.config(i));
    std::string yaml = (c.root() / "hosts.yaml").string();
    auto at = text.find(yaml);
    REQUIRE(at != std::string::npos);
    text.replace(at, yaml.size(), table.string());
    std::ofstream(c.config(i)) << text;
}

void write_table(const std::filesystem::path& table, const std::string& text) {
    // Written aside and renamed, as an admin's editor or config management does.
    auto tmp = table;
    tmp += ".new";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, table);
}

} // namespace

TEST_CASE("hosts_tab: a cluster whose hosts_file is a LON-CAPA hosts.tab links",
          "[integration][hosts_tab]") {
    Cluster c(hosts(3));
    auto table = c.root() / "hosts.tab";
    write_table(table, tab_lines(c, {0, 1, 2}));
    for (int i = 0; i < 3; ++i) {
        use_table(c, i, table);
    }
    c.start_all();
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(c.request(1, 2, "ping") == c.id(2));
    CHECK(c.request(2, 0, "ping") == c.id(0));
    CHECK(await_title([&] { return c.lonc_pid(0); }, title::lonc_parent(c.id(0), 1)) ==
          title::lonc_parent(c.id(0), 1));
}

TEST_CASE("hosts_tab: HUP and USR2 take a changed table: a peer added is linked, a peer "
          "removed loses socket, children and connections",
          "[integration][hosts_tab]") {
    Cluster c(hosts(3));
    // Host 0 starts without host 2 in its table; hosts 1 and 2 know everyone.
    auto mine = c.root() / "hosts0.tab";
    auto full = c.root() / "hosts.tab";
    write_table(mine, tab_lines(c, {0, 1}));
    write_table(full, tab_lines(c, {0, 1, 2}));
    use_table(c, 0, mine);
    use_table(c, 1, full);
    use_table(c, 2, full);
    c.start_all();
    CHECK_FALSE(std::filesystem::exists(c.socket(0, 2)));
    CHECK(c.request(2, 0, "ping") == "con_lost"); // lond 0 refuses host 2: unknown_host
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    REQUIRE(c.request(1, 0, "ping") == c.id(0));

    SECTION("added, then HUP: lonc gets the socket, ping works both ways") {
        write_table(mine, tab_lines(c, {0, 1, 2}));
        c.reload(0);
        REQUIRE(wait_until(5s, [&] { return std::filesystem::exists(c.socket(0, 2)); }));
        CHECK(c.request(0, 2, "ping") == c.id(2));
        // Host 2's lonc is DEAD or backing off after the refusal: USR1 revives it now.
        ::kill(c.lonc_pid(2), SIGUSR1);
        CHECK(wait_until(10s, [&] { return c.request(2, 0, "ping", 3s) == c.id(0); }));
    }

    SECTION("added, then USR2 to lond: the new peer is served") {
        write_table(mine, tab_lines(c, {0, 1, 2}));
        ::kill(c.lond_pid(0), SIGUSR2);
        ::kill(c.lonc_pid(2), SIGUSR1);
        CHECK(wait_until(10s, [&] { return c.request(2, 0, "ping", 3s) == c.id(0); }));
    }

    SECTION("removed, then HUP: socket gone, lonc and lond children stopped, links closed") {
        pid_t lonc_child = c.lonc_child(0, 1);
        pid_t lond_child = c.lond_child(0, 1);
        REQUIRE(lonc_child > 0);
        REQUIRE(lond_child > 0);
        write_table(mine, tab_lines(c, {0, 2}));
        c.reload(0);
        CHECK(wait_until(5s, [&] { return !std::filesystem::exists(c.socket(0, 1)); }));
        CHECK(wait_until(5s, [&] { return !alive(lonc_child) && !alive(lond_child); }));
        CHECK(c.lond_child(0, 1) == -1);
        // Host 1's links to lond 0 were closed, and new ones are refused (unknown_host).
        CHECK(await_title_if([&] { return c.lonc_child(1, 0); },
                             [&](const std::string& t) {
                                 return t.find("Connection count") == std::string::npos;
                             }).find("Connection count") == std::string::npos);
        CHECK(c.request(1, 0, "ping") == "con_lost");
        CHECK(c.lond_child(0, 1) == -1);
        CHECK(await_title([&] { return c.lonc_pid(0); }, title::lonc_parent(c.id(0), 0)) ==
              title::lonc_parent(c.id(0), 0));
    }

    SECTION("removed, then USR2 to lond only: its lond child is stopped") {
        pid_t lond_child = c.lond_child(0, 1);
        REQUIRE(lond_child > 0);
        write_table(mine, tab_lines(c, {0, 2}));
        ::kill(c.lond_pid(0), SIGUSR2);
        CHECK(wait_until(5s, [&] { return !alive(lond_child); }));
        CHECK(c.request(1, 0, "ping") == "con_lost");
    }
}

TEST_CASE("hosts_tab: a malformed line is refused at start and on HUP, naming file and line",
          "[integration][hosts_tab]") {
    Cluster c(hosts(3));
    auto table = c.root() / "hosts.tab";
    std::string good = tab_lines(c, {0, 1});
    // Line 4: three fields only.
    write_table(table, good + c.id(2) + ":test:access\n");
    for (int i = 0; i < 2; ++i) {
        use_table(c, i, table);
    }
    std::string where = table.string() + ":4: ";
    for (const auto& bin : {lond_bin(), lonc_bin()}) {
        auto r = run({bin.string(), "--config", c.config(0).string(), "--foreground"}, 10s);
        INFO(bin.filename().string() << ": " << r.output);
        CHECK(r.code == 2);
        CHECK(r.err.find(where) != std::string::npos);
    }

    write_table(table, good);
    c.start_lond(0);
    c.start_lonc(0);
    c.start_lond(1);
    c.start_lonc(1);
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    // Host 2 added on a good line, but line 5 is malformed: the whole table is refused.
    write_table(table, tab_lines(c, {0, 1, 2}) + "bad host:test:access:127.0.0.1\n");
    c.reload(0);
    for (const char* daemon : {"lond", "lonc"}) {
        INFO(daemon);
        CHECK(wait_until(5s, [&] {
            return file_has_line_with(c.log_file(0, daemon),
                                      {"reload refused", table.string() + ":5: lonHostID:"});
        }));
    }
    CHECK_FALSE(std::filesystem::exists(c.socket(0, 2))); // the previous table is kept
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(c.request(1, 0, "ping") == c.id(0));
}

TEST_CASE("hosts_tab: with hosts.yaml too, HUP to lond alone stops the child of a removed peer "
          "and closes its links",
          "[integration][hosts_tab]") {
    Cluster c(hosts(3));
    // Host 0 gets a table of its own; hosts 1 and 2 keep the cluster's.
    auto mine = c.root() / "hosts0.yaml";
    write_table(mine, read_file(c.root() / "hosts.yaml"));
    std::string text = read_file(c.config(0));
    std::string shared = (c.root() / "hosts.yaml").string();
    text.replace(text.find(shared), shared.size(), mine.string());
    std::ofstream(c.config(0)) << text;
    c.start_all();
    REQUIRE(c.request(1, 0, "ping") == c.id(0));
    pid_t lond_child = c.lond_child(0, 1);
    REQUIRE(lond_child > 0);
    // Host 1's line removed (each entry of the generated table is one line).
    std::string table = read_file(mine);
    auto at = table.find("id: " + c.id(1) + ",");
    REQUIRE(at != std::string::npos);
    auto bol = table.rfind('\n', at) + 1;
    table.erase(bol, table.find('\n', at) + 1 - bol);
    write_table(mine, table);
    ::kill(c.lond_pid(0), SIGHUP);
    CHECK(wait_until(5s, [&] { return !alive(lond_child); }));
    CHECK(c.request(1, 0, "ping") == "con_lost");
    CHECK(c.request(2, 0, "ping") == c.id(0)); // the others are served as before
}
