// Issue 9 §7: a link's cost must not grow with the size of the hosts table. Each child gets
// a hosts table of only its own host and its peer (link::bundle_for_peer), so a lonc child
// and a lond child of a 2-host cluster whose table lists 2,000 more hosts hold two hosts
// (their status says so: "table_hosts") and use the private memory of children with a
// 2-entry table. Timing (first ping) is measured by bench/host-table-cost.sh, not here.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "harness.hpp"

using namespace it;

namespace {

struct ChildCost {
    std::string lonc_table_hosts; ///< "table_hosts" of lonc:status (raw JSON, "" if absent)
    std::string lond_table_hosts; ///< the same from the lond child's status file
    long lonc_private_kb = -1;
    long lond_private_kb = -1;
};

/// A 2-host cluster whose shared hosts.yaml also lists `extra` hosts on unused loopback
/// addresses (nothing runs there; numeric, so nothing goes to DNS). Links host 0 to host 1
/// with one ping and reads what the two children of that link hold.
ChildCost child_cost(int extra) {
    Cluster c(hosts(2));
    {
        std::ofstream table(c.root() / "hosts.yaml", std::ios::app);
        for (int i = 0; i < extra; ++i) {
            table << "  - { id: spare" << i << ", address: 127.98." << i / 250 << "."
                  << i % 250 + 1 << ", domain: spare, role: access }\n";
        }
    }
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    ChildCost cost;
    auto status = parse_json_object(c.request(0, 1, "lonc:status"));
    REQUIRE(status);
    cost.lonc_table_hosts = (*status)["table_hosts"];
    std::filesystem::path lond_status = c.run_dir(1) / ("lond." + c.id(0) + ".json");
    REQUIRE(wait_until(5s, [&] { return parse_json_object(read_file(lond_status)).has_value(); }));
    cost.lond_table_hosts = (*parse_json_object(read_file(lond_status)))["table_hosts"];
    pid_t lonc_child = c.lonc_child(0, 1);
    pid_t lond_child = c.lond_child(1, 0);
    REQUIRE(lonc_child > 0);
    REQUIRE(lond_child > 0);
    cost.lonc_private_kb = private_kb(lonc_child);
    cost.lond_private_kb = private_kb(lond_child);
    return cost;
}

} // namespace

TEST_CASE("host_table_cost: with 2,000 more hosts in the table, each child still holds two "
          "and uses the memory of a 2-host table",
          "[integration][host_table_cost]") {
    ChildCost small = child_cost(0);
    ChildCost large = child_cost(2000);
    INFO("lonc child private kB: " << small.lonc_private_kb << " (2 hosts) vs "
                                   << large.lonc_private_kb << " (2,002 hosts); lond child: "
                                   << small.lond_private_kb << " vs " << large.lond_private_kb);
    CHECK(small.lonc_table_hosts == "2");
    CHECK(large.lonc_table_hosts == "2");
    CHECK(small.lond_table_hosts == "2");
    CHECK(large.lond_table_hosts == "2");
    if (!sanitized_build()) {
        CHECK(large.lonc_private_kb <= small.lonc_private_kb * 12 / 10);
        CHECK(large.lond_private_kb <= small.lond_private_kb * 12 / 10);
    }
}
