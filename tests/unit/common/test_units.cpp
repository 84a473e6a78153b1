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
