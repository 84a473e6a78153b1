#include <catch2/catch.hpp>

#include "critical.hpp"

using namespace lon::proto;

TEST_CASE("critical: format and parse round-trip", "[proto]") {
    std::string line = format_critical("0001-42-7", "echo:a:b");
    CHECK(line == "critical:0001-42-7:echo:a:b");
    auto c = parse_critical(line);
    REQUIRE(c);
    CHECK(c->id == "0001-42-7");
    CHECK(c->request == "echo:a:b");
    auto empty = parse_critical("critical:x:");
    REQUIRE(empty);
    CHECK(empty->request.empty());
}

TEST_CASE("critical: ids are safe file names, malformed lines rejected", "[proto]") {
    for (const char* bad : {"critical", "critical:", "critical::ping", "critical:a/b:ping",
                            "critical:..:ping", "critical:a b:ping", "critical:abc", "echo:x",
                            "CRITICAL:a:ping"}) {
        INFO(bad);
        CHECK_FALSE(parse_critical(bad));
    }
    CHECK_FALSE(parse_critical("critical:" + std::string(65, 'a') + ":ping"));
    CHECK(valid_critical_id("000123-99-1"));
    CHECK_FALSE(valid_critical_id(""));
}

TEST_CASE("critical: one level only; a nested durable request is recognised", "[proto]") {
    CHECK(is_critical("critical:a:ping"));
    CHECK(is_critical("critical"));
    CHECK_FALSE(is_critical("criticalx:a:ping"));
    CHECK_FALSE(is_critical("echo:critical:a"));
    auto c = parse_critical("critical:a:critical:b:ping");
    REQUIRE(c);
    CHECK(c->id == "a");
    CHECK(c->request == "critical:b:ping"); // not parsed further
    CHECK(is_critical(c->request));          // lond refuses it: error:bad_request
    // However deep, parsing costs one level.
    std::string deep;
    for (int i = 0; i < 10000; ++i) {
        deep += "critical:x:";
    }
    deep += "ping";
    auto d = parse_critical(deep);
    REQUIRE(d);
    CHECK(d->request.size() == deep.size() - 11);
}
