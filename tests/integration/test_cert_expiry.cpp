// README "Certificate workflow": lonc warns in its log from tls.expiry_warning_days before
// its own or a peer's certificate expires, and its status shows the days left.

#include <fstream>
#include <regex>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

long json_number(const std::string& json, const std::string& key) {
    std::smatch m;
    if (!std::regex_search(json, m, std::regex("\"" + key + "\":(-?[0-9]+)"))) {
        return -1000;
    }
    return std::stol(m[1].str());
}

} // namespace

TEST_CASE("certificates within tls.expiry_warning_days: lonc warns for its own and the "
          "peer's, and its status shows the days left; certificates beyond it: no warning",
          "[integration][cert_expiry][tls]") {
    Cluster c(hosts(2));
    c.issue_certificate(0, "ca", 5);  // within the default 14 days
    c.issue_certificate(1, "ca", 60); // beyond them
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    REQUIRE(c.request(1, 0, "ping") == c.id(0));

    // Host 0: its own certificate is about to expire, the peer's is not.
    auto status0 = c.run_dir(0) / ("lonc." + c.id(1) + ".json");
    CHECK(wait_until(5s, [&] {
        long own = json_number(read_file(status0), "own_cert_days_left");
        return own == 4 || own == 5;
    }));
    CHECK(wait_until(5s, [&] {
        long peer = json_number(read_file(status0), "peer_cert_days_left");
        return peer == 59 || peer == 60;
    }));
    CHECK(wait_until(5s, [&] {
        return file_has_line_with(c.log_file(0, "lonc"), {"our certificate expires in"});
    }));
    // Host 1: the peer's certificate is about to expire, its own is not.
    CHECK(wait_until(5s, [&] {
        return file_has_line_with(c.log_file(1, "lonc"),
                                  {c.id(0) + "'s certificate expires in"});
    }));
    CHECK_FALSE(file_has_line_with(c.log_file(1, "lonc"), {"our certificate expires in"}));
    CHECK_FALSE(file_has_line_with(c.log_file(0, "lonc"), {c.id(1) + "'s certificate expires"}));
}

TEST_CASE("an expired own certificate counts as none: the link falls back to insecure where "
          "the policy allows it; where it does not, the daemon says so and does not start",
          "[integration][cert_expiry][clock]") {
    INFO("needs libfaketime (scripts/deps.sh installs it)");
    REQUIRE(!libfaketime().empty());
    // Host 2 allows no insecure link (lonc and lond), so with no usable certificate it could
    // link with nobody.
    Cluster c(hosts(3));
    for (int i = 0; i < 3; ++i) {
        c.issue_certificate(i);
    }
    c.edit_config(2, "max_connections: 3 }", "max_connections: 3, allow_insecure: false }");
    std::ofstream(c.config(2), std::ios::app) << "lond: { allow_insecure: false }\n";
    // Every clock is past the certificates' end from the start, so no peer was ever seen in
    // ssl (none is pinned): what is left is the policy.
    auto clock_file = c.root() / "clock";
    std::ofstream(clock_file) << "+1000d\n";
    for (int i = 0; i < 2; ++i) {
        c.start_lond(i, faked_clock(clock_file));
        c.start_lonc(i, faked_clock(clock_file));
    }
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(await_title([&] { return c.lonc_child(0, 1); },
                      title::lonc_linked(c.id(1), 1, 3, "insecure")) ==
          title::lonc_linked(c.id(1), 1, 3, "insecure"));
    CHECK(c.request(1, 0, "ping") == c.id(0));
    CHECK(wait_until(5s, [&] { return file_has_line_with(c.log_file(0, "lonc"), {"expired"}); }));

    // Host 2 could link with nobody, and says so at start with the way out.
    CHECK_THROWS_WITH(c.start_lond(2, faked_clock(clock_file)),
                      Catch::Contains("expired") && Catch::Contains("allow_insecure is false"));
    CHECK_THROWS_WITH(c.start_lonc(2, faked_clock(clock_file)),
                      Catch::Contains("expired") && Catch::Contains("allow_insecure is false"));
}
