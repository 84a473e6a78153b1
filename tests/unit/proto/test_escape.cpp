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

TEST_CASE("escape: LON-CAPA separators and punctuation are all escaped", "[proto]") {
    CHECK(escape("-.~") == "%2d%2e%7e"); // not word characters, unlike URL escaping
    CHECK(escape("key=value&k2=v2:x") == "key%3dvalue%26k2%3dv2%3ax");
    CHECK(escape("\xc3\xa9") == "%c3%a9"); // UTF-8 bytes one by one, lowercase hex
    std::string all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<char>(i));
    }
    std::string e = escape(all);
    // No separator, newline or space can survive into an escaped field.
    CHECK(e.find_first_of(":&=\n\r \x7f") == std::string::npos);
    CHECK(e.find_first_not_of("%0123456789abcdefABCDEFGHIJKLMNOPQRSTUVWXYZghijklmnopqrstuvwxyz_") ==
          std::string::npos);
    CHECK(e.size() == 63 + 3 * (256 - 63)); // 63 word characters stay single
}

TEST_CASE("unescape: plain text passes, '%' sequences at every position", "[proto]") {
    CHECK(unescape("") == std::optional<std::string>(""));
    CHECK(unescape("plain text: kept") == std::optional<std::string>("plain text: kept"));
    CHECK(unescape("%25") == std::optional<std::string>("%"));
    CHECK(unescape("%2525") == std::optional<std::string>("%25")); // decoded once only
    CHECK(unescape("a%3Ab%3ac") == std::optional<std::string>("a:b:c"));
    CHECK(unescape("%00") == std::optional<std::string>(std::string(1, '\0')));
    CHECK(unescape("%FF") == std::optional<std::string>("\xff"));
    for (const char* bad : {"%%", "%%41", "abc%", "%a", "%4g", "%-1", "% 1", "%+1", "x%0"}) {
        INFO(bad);
        CHECK_FALSE(unescape(bad));
    }
}
