#include <catch2/catch.hpp>

#include "message.hpp"

using namespace lon::proto;

TEST_CASE("parse_tagged: tag, one space, body", "[proto]") {
    auto t = parse_tagged("42 echo:hi there");
    REQUIRE(t);
    CHECK(t->tag == 42);
    CHECK(t->body == "echo:hi there");
    auto empty = parse_tagged("7 ");
    REQUIRE(empty);
    CHECK(empty->body.empty());
    CHECK(parse_tagged("007 x")->tag == 7);
    CHECK(parse_tagged("18446744073709551615 x")->tag == 18446744073709551615ULL);
}

TEST_CASE("parse_tagged: malformed lines", "[proto]") {
    CHECK_FALSE(parse_tagged("12"));
    CHECK_FALSE(parse_tagged(" 12 x"));
    CHECK_FALSE(parse_tagged("x12 ping"));
    CHECK_FALSE(parse_tagged("-1 ping"));
    CHECK_FALSE(parse_tagged("1a ping"));
    CHECK_FALSE(parse_tagged("18446744073709551616 x")); // over 64 bits
    CHECK_FALSE(parse_tagged("123456789012345678901 x")); // 21 digits
    CHECK_FALSE(parse_tagged(""));
}

TEST_CASE("format_tagged round-trips through parse_tagged", "[proto]") {
    std::string line = format_tagged(99, "pong");
    CHECK(line == "99 pong\n");
    auto t = parse_tagged(std::string_view(line).substr(0, line.size() - 1));
    REQUIRE(t);
    CHECK(t->tag == 99);
    CHECK(t->body == "pong");
}

TEST_CASE("command_of and argument_of split at the first colon", "[proto]") {
    CHECK(command_of("echo:a:b") == "echo");
    CHECK(argument_of("echo:a:b") == "a:b");
    CHECK(command_of("ping") == "ping");
    CHECK(argument_of("ping").empty());
    CHECK(argument_of("echo:").empty());
}
