#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

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

TEST_CASE("critical: ids lonc makes are 128 random bits as 32 lowercase hex digits",
          "[proto][critical_wire]") {
    std::array<std::uint8_t, critical_id_bytes> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<std::uint8_t>(i * 17);
    }
    auto id = format_critical_id(bytes);
    CHECK(id == "00112233445566778899aabbccddeeff");
    CHECK(valid_critical_id(id));
    std::array<std::uint8_t, critical_id_bytes> ff{};
    ff.fill(0xff);
    CHECK(format_critical_id(ff) == std::string(32, 'f'));
}

TEST_CASE("critical: acknowledgements carry 1 to 64 valid ids", "[proto][critical_wire]") {
    std::vector<std::string> ids{"aa", "bb01", std::string(32, 'c')};
    auto line = format_critical_ack(ids);
    CHECK(line == "critical_ack:aa&bb01&" + std::string(32, 'c'));
    CHECK(is_critical_ack(line));
    CHECK_FALSE(is_critical(line));
    auto parsed = parse_critical_ack(line);
    REQUIRE(parsed);
    REQUIRE(parsed->size() == 3);
    CHECK((*parsed)[2] == ids[2]);
    for (const char* bad : {"critical_ack", "critical_ack:", "critical_ack:a&", "critical_ack:&a",
                            "critical_ack:a&&b", "critical_ack:a/b", "critical_ack:a:b",
                            "critical:a:ping", "ack:a"}) {
        INFO(bad);
        CHECK_FALSE(parse_critical_ack(bad));
    }
    std::vector<std::string> many(max_ack_ids, "x");
    CHECK(parse_critical_ack(format_critical_ack(many)));
    many.push_back("y");
    CHECK_FALSE(parse_critical_ack(format_critical_ack(many)));
}

TEST_CASE("critical: records say started or done with the reply; older ones are the reply",
          "[proto][critical_wire]") {
    auto started = parse_record(format_record_started());
    CHECK(started.state == CriticalRecord::State::started);
    auto done = parse_record(format_record_done("done:job:1"));
    CHECK(done.state == CriticalRecord::State::done);
    CHECK(done.reply == "done:job:1");
    auto empty = parse_record(format_record_done(""));
    CHECK(empty.state == CriticalRecord::State::done);
    CHECK(empty.reply.empty());
    // A reply never holds a newline, so an older record (the reply alone) is never misread.
    auto legacy = parse_record("started");
    CHECK(legacy.state == CriticalRecord::State::done);
    CHECK(legacy.reply == "started");
}

TEST_CASE("critical: spool names sort in delivery order and carry the id",
          "[proto][critical_wire]") {
    auto a = format_spool_name(9, "ab");
    auto b = format_spool_name(10, "00");
    CHECK(a == "00000000000000000009-ab");
    CHECK(a < b);
    auto p = parse_spool_name(b);
    REQUIRE(p);
    CHECK(p->seq == 10);
    CHECK(p->id == "00");
    auto max = parse_spool_name(format_spool_name(UINT64_MAX, "z"));
    REQUIRE(max);
    CHECK(max->seq == UINT64_MAX);
    // An older lonc's name (an id that sorted by time) is an entry of seq 0.
    auto legacy = parse_spool_name("000001700000000-1234-5");
    REQUIRE(legacy);
    CHECK(legacy->seq == 0);
    CHECK(legacy->id == "000001700000000-1234-5");
    CHECK_FALSE(parse_spool_name("00000000000000000009-ab.tmp.77"));
    CHECK_FALSE(parse_spool_name(""));
    // Over 64 bits: not a seq (the whole name is then an older lonc's id).
    auto over = parse_spool_name("99999999999999999999-x");
    REQUIRE(over);
    CHECK(over->seq == 0);
    CHECK(over->id == "99999999999999999999-x");
}
