#include <catch2/catch.hpp>

#include <algorithm>

#include "host_port.hpp"
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

TEST_CASE("titles: ids and numbers are shown as given", "[common]") {
    CHECK(t::lonc_parent("annarborl1", 0) == "lonc: parent annarborl1 links: 0");
    CHECK(t::lonc_connecting("x", 0) == "lonc: x Connecting Retries remaining: 0");
    CHECK(t::lonc_dead("x", 0) == "lonc: x >>> DEAD !!!! <<< next probe in 0s");
    CHECK(t::lond_parent("h", "127.0.0.11", 65535, 12) ==
          "lond: parent h listening 127.0.0.11:65535 peers: 12");
    // IPv6 in brackets ([addr]:port), as the README's title table shows.
    CHECK(t::lond_parent("h", "::1", 5663, 1) == "lond: parent h listening [::1]:5663 peers: 1");
    CHECK(t::lond_child("p", 10, "ssl") == "lond: p Connection count: 10 (ssl)");
}

TEST_CASE("json_string: every byte class", "[common]") {
    CHECK(lon::json_string("") == "\"\"");
    CHECK(lon::json_string("a/b 'c' ~") == "\"a/b 'c' ~\""); // printable ASCII passes
    CHECK(lon::json_string(std::string("\0", 1)) == "\"\\u0000\"");
    CHECK(lon::json_string("\x1f\x20") == "\"\\u001f \"");
    CHECK(lon::json_string("\b\f") == "\"\\u0008\\u000c\"");
    CHECK(lon::json_string("\xff") == "\"\\u00ff\"");
    for (int b = 0; b < 256; ++b) {
        std::string out = lon::json_string(std::string(1, static_cast<char>(b)));
        INFO(b);
        bool printable = std::all_of(out.begin(), out.end(), [](char ch) {
            auto u = static_cast<unsigned char>(ch);
            return u >= 0x20 && u < 0x7f;
        });
        CHECK(printable); // always one printable ASCII line
        CHECK(out.size() >= 3);
    }
}

TEST_CASE("titles: an IPv6 listen address is bracketed, IPv4 and names are not", "[common][ipv6]") {
    CHECK(t::lond_parent("msul1", "fd00::1", 5663, 2) ==
          "lond: parent msul1 listening [fd00::1]:5663 peers: 2");
    CHECK(t::lond_parent("msul1", "::", 5663, 0) == "lond: parent msul1 listening [::]:5663 peers: 0");
    CHECK(t::lond_parent("msul1", "127.0.0.11", 5663, 0) ==
          "lond: parent msul1 listening 127.0.0.11:5663 peers: 0");
    CHECK(lon::host_port("fd00::1", 5663) == "[fd00::1]:5663");
    CHECK(lon::host_port("10.1.0.11", 5663) == "10.1.0.11:5663");
    CHECK(lon::host_port("msul2.example.edu", 5663) == "msul2.example.edu:5663");
}
