#include <catch2/catch.hpp>

#include "counters.hpp"

TEST_CASE("Counters: declared names show as zero, adds accumulate, JSON is sorted", "[common]") {
    lon::Counters c{"zeta", "alpha"};
    CHECK(c.json() == R"({"alpha":0,"zeta":0})");
    auto v = c.version();
    c.add("zeta");
    c.add("zeta", 4);
    c.add("new_one");
    CHECK(c.version() > v);
    CHECK(c.get("zeta") == 5);
    CHECK(c.get("absent") == 0);
    CHECK(c.json() == R"({"alpha":0,"new_one":1,"zeta":5})");
}
