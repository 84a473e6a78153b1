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

TEST_CASE("parse_tagged: the first space ends the tag, the body is kept verbatim", "[proto]") {
    auto t = parse_tagged("5  two spaces");
    REQUIRE(t);
    CHECK(t->tag == 5);
    CHECK(t->body == " two spaces"); // the body is opaque, its leading space included
    auto cr = parse_tagged("6 ping\r");
    REQUIRE(cr);
    CHECK(cr->body == "ping\r");
    CHECK(parse_tagged("0 x")->tag == 0);
    CHECK(parse_tagged("00000000000000000001 x")->tag == 1); // 20 digits, leading zeros
    std::string line = "9 echo:abc";
    auto borrowed = parse_tagged(line);
    REQUIRE(borrowed);
    CHECK(borrowed->body.data() == line.data() + 2); // borrows, no copy
}

TEST_CASE("parse_tagged: separators other than one space are malformed", "[proto]") {
    for (const char* bad : {"12\tping", "+1 ping", "1_000 x", "1.0 x", " ", "1\n", "0x1 x",
                            "１ x"}) {
        INFO(bad);
        CHECK_FALSE(parse_tagged(bad));
    }
}

TEST_CASE("format_tagged: the largest tag and an empty body", "[proto]") {
    CHECK(format_tagged(18446744073709551615ULL, "") == "18446744073709551615 \n");
    CHECK(format_tagged(0, "x") == "0 x\n");
    auto t = parse_tagged("18446744073709551615 ");
    REQUIRE(t);
    CHECK(t->tag == 18446744073709551615ULL);
    CHECK(t->body.empty());
}
