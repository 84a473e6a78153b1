#include <catch2/catch.hpp>

#include "units.hpp"

using namespace std::chrono_literals;

TEST_CASE("parse_duration: units and bare seconds", "[common]") {
    CHECK(lon::parse_duration("30s") == lon::Millis(30s));
    CHECK(lon::parse_duration("5m") == lon::Millis(5min));
    CHECK(lon::parse_duration("2h") == lon::Millis(2h));
    CHECK(lon::parse_duration("1d") == lon::Millis(24h));
    CHECK(lon::parse_duration("250ms") == lon::Millis(250));
    CHECK(lon::parse_duration("10") == lon::Millis(10s));
    CHECK(lon::parse_duration("0s") == lon::Millis(0));
}

TEST_CASE("parse_duration: malformed input", "[common]") {
    for (const char* bad : {"", "s", "-5s", "5x", "5 sec", "1.5s", "s5", "99999999999999999999d"}) {
        INFO(bad);
        CHECK_FALSE(lon::parse_duration(bad));
    }
}

TEST_CASE("parse_size: binary units", "[common]") {
    CHECK(lon::parse_size("16MiB") == std::optional<std::uint64_t>(16u << 20));
    CHECK(lon::parse_size("1KiB") == std::optional<std::uint64_t>(1024));
    CHECK(lon::parse_size("2G") == std::optional<std::uint64_t>(2ULL << 30));
    CHECK(lon::parse_size("100") == std::optional<std::uint64_t>(100));
    CHECK(lon::parse_size("100B") == std::optional<std::uint64_t>(100));
    CHECK(lon::parse_size("16 MiB") == std::optional<std::uint64_t>(16u << 20));
    for (const char* bad : {"", "MiB", "-1", "1.5MiB", "16mib", "18446744073709551615GiB"}) {
        INFO(bad);
        CHECK_FALSE(lon::parse_size(bad));
    }
}

TEST_CASE("parse_duration: every unit at its boundary, and overflow", "[common]") {
    CHECK(lon::parse_duration("0") == lon::Millis(0));
    CHECK(lon::parse_duration("1ms") == lon::Millis(1));
    CHECK(lon::parse_duration("90m") == lon::Millis(90min));
    CHECK(lon::parse_duration("007s") == lon::Millis(7s)); // leading zeros are just digits
    CHECK(lon::parse_duration("30 s") == lon::Millis(30s)); // one space before a unit is fine
    // 2^63 ms does not fit in Millis; the largest day count that fits does.
    CHECK_FALSE(lon::parse_duration("9223372036854775808ms"));
    CHECK(lon::parse_duration("106751991167d") == lon::Millis(106751991167LL * 86'400'000LL));
    CHECK_FALSE(lon::parse_duration("106751991168d"));
}

TEST_CASE("parse_duration: spaces and signs are not part of a duration", "[common]") {
    for (const char* bad : {" 5s", "5s ", "5  s", "5 ", "+5s", "5S", "5sec", "5ms5", "5m s",
                            "0x10s", "5\ts"}) {
        INFO('"' << bad << '"');
        CHECK_FALSE(lon::parse_duration(bad));
    }
}

TEST_CASE("parse_size: every unit spelling is binary", "[common]") {
    const std::pair<const char*, std::uint64_t> good[] = {
        {"0", 0},           {"1B", 1},          {"3K", 3ULL << 10}, {"3KB", 3ULL << 10},
        {"3KiB", 3ULL << 10}, {"5M", 5ULL << 20}, {"5MB", 5ULL << 20}, {"5MiB", 5ULL << 20},
        {"7G", 7ULL << 30}, {"7GB", 7ULL << 30}, {"7GiB", 7ULL << 30},
        {"18446744073709551615", 18446744073709551615ULL},
        {"17179869183GiB", 17179869183ULL << 30}, // the largest GiB count that fits
    };
    for (const auto& [text, bytes] : good) {
        INFO(text);
        CHECK(lon::parse_size(text) == std::optional<std::uint64_t>(bytes));
    }
}

TEST_CASE("parse_size: overflow, negatives and stray spaces are rejected", "[common]") {
    for (const char* bad : {"18446744073709551616", "17179869184GiB", "-0", " 1K", "1K ",
                            "1  K", "1 ", "1 k", "1kb", "1T", "1TiB", "1KiBB", "K1"}) {
        INFO('"' << bad << '"');
        CHECK_FALSE(lon::parse_size(bad));
    }
}
