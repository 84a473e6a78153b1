// Process titles read from /proc/<pid>/cmdline, exactly as DESIGN.md's table writes them.

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

std::string comm(pid_t pid) {
    return read_file("/proc/" + std::to_string(pid) + "/comm");
}

} // namespace

TEST_CASE("titles: parents and children of lonc and lond show the DESIGN.md titles",
          "[integration]") {
    Cluster c; // 3 hosts
    c.start_all();
    // Before any traffic: parents only, no children.
    for (int i = 0; i < c.size(); ++i) {
        INFO(c.id(i));
        CHECK(await_title(c.lonc_pid(i), title::lonc_parent(c.id(i), 0)) ==
              title::lonc_parent(c.id(i), 0));
        CHECK(await_title(c.lond_pid(i), title::lond_parent(c.id(i), c.address(i), 0)) ==
              title::lond_parent(c.id(i), c.address(i), 0));
        CHECK(children_of(c.lonc_pid(i)).empty());
        CHECK(children_of(c.lond_pid(i)).empty());
        CHECK(comm(c.lonc_pid(i)) == "lonc\n");
        CHECK(comm(c.lond_pid(i)) == "lond\n");
    }

    // Sequential requests reuse one connection: host 0 to hosts 1 and 2, host 2 to host 1.
    const std::pair<int, int> links[] = {{0, 1}, {0, 2}, {2, 1}};
    for (int round = 0; round < 3; ++round) {
        for (auto [from, to] : links) {
            REQUIRE(c.request(from, to, "ping") == c.id(to));
        }
    }
    for (auto [from, to] : links) {
        INFO(c.id(from) << " -> " << c.id(to));
        std::string linked = title::lonc_linked(c.id(to), 1, 3);
        CHECK(await_title([&] { return c.lonc_child(from, to); }, linked) == linked);
        CHECK(comm(c.lonc_child(from, to)) == "lonc\n");
        std::string served = title::lond_child(c.id(from), 1);
        CHECK(await_title([&] { return c.lond_child(to, from); }, served) == served);
        CHECK(comm(c.lond_child(to, from)) == "lond\n");
    }
    // Parents count their children: lonc links per host, lond peers per host.
    const int lonc_links[] = {2, 0, 1};
    const int lond_peers[] = {0, 2, 1};
    for (int i = 0; i < c.size(); ++i) {
        INFO(c.id(i));
        auto lonc_parent = title::lonc_parent(c.id(i), lonc_links[i]);
        auto lond_parent = title::lond_parent(c.id(i), c.address(i), lond_peers[i]);
        CHECK(await_title(c.lonc_pid(i), lonc_parent) == lonc_parent);
        CHECK(await_title(c.lond_pid(i), lond_parent) == lond_parent);
        CHECK(children_of(c.lonc_pid(i)).size() == static_cast<std::size_t>(lonc_links[i]));
        CHECK(children_of(c.lond_pid(i)).size() == static_cast<std::size_t>(lond_peers[i]));
    }
    // The status files agree with the titles.
    auto lonc_status = parse_json_object(read_file(c.run_dir(0) / ("lonc." + c.id(1) + ".json")));
    REQUIRE(lonc_status);
    CHECK((*lonc_status)["state"] == "\"linked\"");
    CHECK((*lonc_status)["connections"] == "1");
    CHECK((*lonc_status)["mode"] == "\"insecure\"");
    CHECK((*lonc_status)["peer"] == "\"" + c.id(1) + "\"");
    CHECK(wait_until(
        5s, [&] { return std::filesystem::exists(c.run_dir(1) / ("lond." + c.id(0) + ".json")); }));
    auto lond_status = parse_json_object(read_file(c.run_dir(1) / ("lond." + c.id(0) + ".json")));
    REQUIRE(lond_status);
    CHECK((*lond_status)["peer"] == "\"" + c.id(0) + "\"");
}

TEST_CASE("titles: the lonc parent's lonc.json follows its children within a second",
          "[integration][titles]") {
    // lonc.json lists every peer of the table, so it is rewritten at most once a second (a
    // write per child start cost O(table) each while a cluster came up); the title at once.
    Cluster c(hosts(2));
    c.start_all();
    auto file = c.run_dir(0) / "lonc.json";
    auto child_state = [&] {
        auto doc = parse_json_object(read_file(file));
        if (!doc) {
            return std::string();
        }
        auto peers = (*doc)["peers"];
        auto at = peers.find("\"peer\":\"" + c.id(1) + "\",\"child\":\"");
        if (at == std::string::npos) {
            return std::string();
        }
        at = peers.find(":\"", peers.find("\"child\"", at)) + 2;
        return peers.substr(at, peers.find('"', at) - at);
    };
    REQUIRE(wait_until(5s, [&] { return child_state() == "idle"; }));
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    // Within the second (and slack for a loaded machine), with the child's pid.
    CHECK(wait_until(3s, [&] { return child_state() == "running"; }));
    CHECK(read_file(file).find("\"pid\":" + std::to_string(child) + "}") != std::string::npos);
}
