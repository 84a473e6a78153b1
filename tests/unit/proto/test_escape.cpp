#include <catch2/catch.hpp>

#include "escape.hpp"

using lon::proto::escape;
using lon::proto::unescape;

TEST_CASE("escape: word characters pass, everything else becomes %xx", "[proto]") {
    CHECK(escape("abc_XYZ_019") == "abc_XYZ_019");
    CHECK(escape("a b:c&d=e\n%") == "a%20b%3ac%26d%3de%0a%25");
    CHECK(escape(std::string("\0\xff", 2)) == "%00%ff");
    CHECK(escape("") == "");
}

TEST_CASE("unescape: reverses escape for every byte", "[proto]") {
    std::string all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<char>(i));
    }
    auto back = unescape(escape(all));
    REQUIRE(back);
    CHECK(*back == all);
    CHECK(unescape("%41%4a%4A") == std::optional<std::string>("AJJ"));
}

TEST_CASE("unescape: malformed percent sequences are errors", "[proto]") {
    CHECK_FALSE(unescape("%"));
    CHECK_FALSE(unescape("abc%4"));
    CHECK_FALSE(unescape("%zz"));
    CHECK_FALSE(unescape("%g0"));
}
