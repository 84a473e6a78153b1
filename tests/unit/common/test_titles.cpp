#include <catch2/catch.hpp>

#include "json.hpp"
#include "titles.hpp"

namespace t = lon::titles;

TEST_CASE("titles: exactly as DESIGN.md's table", "[common]") {
    CHECK(t::lonc_parent("msul1", 2) == "lonc: parent msul1 links: 2");
    CHECK(t::lonc_connecting("msul3", 4) == "lonc: msul3 Connecting Retries remaining: 4");
    CHECK(t::lonc_linked("msul1", 1, 5, "ssl") ==
          "lonc: msul1 Connection count: 1 Retries remaining: 5 (ssl)");
    CHECK(t::lonc_linked("msul2", 3, 2, "insecure") ==
          "lonc: msul2 Connection count: 3 Retries remaining: 2 (insecure)");
    CHECK(t::lonc_dead("msul2", 287) == "lonc: msul2 >>> DEAD !!!! <<< next probe in 287s");
    CHECK(t::lond_parent("msul1", "0.0.0.0", 5663, 0) ==
          "lond: parent msul1 listening 0.0.0.0:5663 peers: 0");
    CHECK(t::lond_child("msul2", 2, "insecure") == "lond: msul2 Connection count: 2 (insecure)");
}

TEST_CASE("json_string: always one valid line", "[common]") {
    CHECK(lon::json_string("msul1") == "\"msul1\"");
    CHECK(lon::json_string("a\"b\\c\nd\te\r") == "\"a\\\"b\\\\c\\nd\\te\\r\"");
    CHECK(lon::json_string(std::string("\x01\x7f\xc3", 3)) == "\"\\u0001\\u007f\\u00c3\"");
}
