#include <catch2/catch.hpp>

#include "line_framer.hpp"

using lon::proto::LineFramer;
using Status = LineFramer::Status;

TEST_CASE("LineFramer: splits lines and keeps partial input", "[proto]") {
    LineFramer f(100);
    f.feed("ping\n12 ec");
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "ping");
    CHECK(f.next().status == Status::need_more);
    CHECK(f.buffered() == 5);
    f.feed("ho:x\n\n");
    r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "12 echo:x");
    r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line.empty());
    CHECK(f.next().status == Status::need_more);
    CHECK(f.buffered() == 0);
}

TEST_CASE("LineFramer: keeps a trailing carriage return", "[proto]") {
    LineFramer f(10);
    f.feed("a\r\n");
    CHECK(f.next().line == "a\r");
}

TEST_CASE("LineFramer: a line of exactly the limit passes, one byte more does not", "[proto]") {
    LineFramer f(4);
    f.feed("abcd\nabcde\nok\n");
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "abcd");
    CHECK(f.next().status == Status::too_long);
    r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "ok");
}

TEST_CASE("LineFramer: rejects a line over the limit before its newline arrives", "[proto]") {
    LineFramer f(8);
    f.feed("0123456789");
    CHECK(f.next().status == Status::too_long);
    // Reported once; the rest of the overlong line is discarded as it comes.
    CHECK(f.next().status == Status::need_more);
    f.feed(std::string(1000, 'x'));
    CHECK(f.next().status == Status::need_more);
    CHECK(f.buffered() == 0);
    f.feed("tail\nnext\n");
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "next");
}

TEST_CASE("LineFramer: byte-at-a-time input gives the same lines", "[proto]") {
    LineFramer f(64);
    std::string input = "1 ping\n2 echo:a%20b\n3 time\n";
    std::vector<std::string> lines;
    for (char c : input) {
        f.feed(std::string_view(&c, 1));
        for (auto r = f.next(); r.status == Status::line; r = f.next()) {
            lines.push_back(r.line);
        }
    }
    CHECK(lines == std::vector<std::string>{"1 ping", "2 echo:a%20b", "3 time"});
}

TEST_CASE("LineFramer: take_buffered hands over what follows the returned lines", "[proto]") {
    LineFramer f(64);
    f.feed("init:1:a:b:insecure\n1 ping\n2 ti");
    REQUIRE(f.next().line == "init:1:a:b:insecure");
    CHECK(f.take_buffered() == "1 ping\n2 ti");
    CHECK(f.buffered() == 0);
    CHECK(f.next().status == Status::need_more);
}

TEST_CASE("LineFramer: many lines in one feed", "[proto]") {
    LineFramer f(16);
    std::string input;
    for (int i = 0; i < 10000; ++i) {
        input += std::to_string(i) + "\n";
    }
    f.feed(input);
    for (int i = 0; i < 10000; ++i) {
        auto r = f.next();
        REQUIRE(r.status == Status::line);
        REQUIRE(r.line == std::to_string(i));
    }
    CHECK(f.next().status == Status::need_more);
}
