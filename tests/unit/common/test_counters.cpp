#include <catch2/catch.hpp>

#include <string>

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

TEST_CASE("Counters: a slot counts the counter it names, and stays valid as others are added",
          "[common]") {
    lon::Counters c{"requests"};
    auto requests = c.slot("requests");
    auto later = c.slot("made_by_slot"); // created, shown as zero
    CHECK(c.get("made_by_slot") == 0);
    for (int i = 0; i < 50; ++i) {
        c.add("other_" + std::to_string(i)); // the map grows and rebalances around them
    }
    auto v = c.version();
    c.add(requests);
    c.add(requests, 2);
    c.add(later);
    CHECK(c.version() == v + 3);
    CHECK(c.get("requests") == 3);
    CHECK(c.get("made_by_slot") == 1);
    c.add("requests"); // by name and by slot: one counter
    CHECK(c.get("requests") == 4);
}
