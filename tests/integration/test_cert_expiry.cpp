// README "Certificate workflow": lonc warns in its log from tls.expiry_warning_days before
// its own or a peer's certificate expires, and its status shows the days left.

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
