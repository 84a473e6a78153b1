#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

TEST_CASE("titles: every process shows the DESIGN.md title", "[integration]") {
    Cluster c;
    c.start_all();
    // Before any traffic: parents only, no children.
    CHECK(read_title(c.lonc_pid(0)) == "lonc: parent " + c.id(0) + " links: 0");
    CHECK(read_title(c.lond_pid(1)) ==
          "lond: parent " + c.id(1) + " listening " + c.address(1) + ":5663 peers: 0");
    CHECK(read_file("/proc/" + std::to_string(c.lonc_pid(0)) + "/comm") == "lonc\n");
    CHECK(read_file("/proc/" + std::to_string(c.lond_pid(0)) + "/comm") == "lond\n");

    for (int i = 0; i < 3; ++i) {
        REQUIRE(c.request(0, 1, "ping") == c.id(1));
        REQUIRE(c.request(0, 2, "ping") == c.id(2));
    }
    std::string linked1 = "lonc: " + c.id(1) + " Connection count: 1 Retries remaining: 3 (insecure)";
    std::string linked2 = "lonc: " + c.id(2) + " Connection count: 1 Retries remaining: 3 (insecure)";
    CHECK(wait_until(5s, [&] { return read_title(c.lonc_child(0, 1)) == linked1; }));
    CHECK(wait_until(5s, [&] { return read_title(c.lonc_child(0, 2)) == linked2; }));
    CHECK(read_title(c.lonc_pid(0)) == "lonc: parent " + c.id(0) + " links: 2");
    CHECK(read_file("/proc/" + std::to_string(c.lonc_child(0, 1)) + "/comm") == "lonc\n");
    CHECK(wait_until(5s, [&] {
        return read_title(c.lond_child(1, 0)) == "lond: " + c.id(0) + " Connection count: 1 (insecure)";
    }));
    CHECK(read_title(c.lond_pid(1)) ==
          "lond: parent " + c.id(1) + " listening " + c.address(1) + ":5663 peers: 1");
    // The status file agrees with the title.
    auto status = read_file(c.run_dir(0) / ("lonc." + c.id(1) + ".json"));
    CHECK(status.find("\"state\":\"linked\"") != std::string::npos);
    CHECK(status.find("\"connections\":1") != std::string::npos);
    CHECK(status.find("\"mode\":\"insecure\"") != std::string::npos);
}
