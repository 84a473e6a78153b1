#include <catch2/catch.hpp>

#include <ctime>
#include <fstream>

#include "harness.hpp"

using namespace it;

TEST_CASE("lonc:critical: delivered at once when the peer is up", "[integration][critical]") {
    Cluster c(hosts(2));
    c.start_all();
    CHECK(c.request(0, 1, "lonc:critical:echo:important") == "important");
    // Removed from the spool once answered (the fsync'ed removal may end after the reply).
    CHECK(wait_until(5s, [&] { return files_in(c.dir(0) / "spool" / c.id(1)) == 0; }));
    // lonc acknowledged it once off its spool: the peer dropped its record.
    CHECK(wait_until(5s, [&] { return files_in(c.dir(1) / "state" / "critical" / c.id(0)) == 0; }));
}

TEST_CASE("lonc:critical: spooled while the peer is down, delivered once when it returns",
          "[integration][critical]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    c.stop_lond(1);
    CHECK(c.request(0, 1, "lonc:critical:echo:one") == "con_delayed");
    CHECK(c.request(0, 1, "lonc:critical:echo:two") == "con_delayed");
    CHECK(files_in(c.dir(0) / "spool" / c.id(1)) == 2);
    // lonc restarts too: the spool survives and is delivered without any client asking.
    c.stop_lonc(0);
    c.start_lond(1);
    c.start_lonc(0);
    CHECK(wait_until(15s, [&] { return files_in(c.dir(0) / "spool" / c.id(1)) == 0; }));
    CHECK(wait_until(5s, [&] { return files_in(c.dir(1) / "state" / "critical" / c.id(0)) == 0; }));
}

TEST_CASE("lond runs a durable request at most once per id", "[integration][critical]") {
    Cluster c(hosts(2));
    c.start_all();
    TcpClient t(c.address(0), c.address(1), 5663);
    t.send("init:1:" + c.id(0) + ":" + c.id(1) + ":insecure\n");
    REQUIRE(t.read_line() == std::optional<std::string>("ok:insecure"));
    t.send("1 critical:abc-1:time\n");
    auto first = t.read_line();
    REQUIRE(first);
    REQUIRE(first->rfind("1 ", 0) == 0);
    // Wait (bounded) until `time` would answer differently, so a rerun would show.
    long answered = std::stol(first->substr(2));
    REQUIRE(wait_until(3s, [&] { return static_cast<long>(std::time(nullptr)) > answered; }));
    t.send("2 critical:abc-1:time\n3 critical:bad/id:time\n");
    auto second = t.read_line();
    REQUIRE(second);
    CHECK(second->substr(2) == first->substr(2)); // answered from the record, not run again
    CHECK(t.read_line() == std::optional<std::string>("3 error:bad_request"));
    // The acknowledgement: refused nested, accepted on the link; the record goes.
    auto records = c.dir(1) / "state" / "critical" / c.id(0);
    CHECK(files_in(records) == 1);
    t.send("4 critical:abc-2:critical_ack:abc-1\n5 critical_ack:abc-1&bad/id\n6 critical_ack:abc-1\n");
    CHECK(t.read_line() == std::optional<std::string>("4 error:bad_request"));
    CHECK(t.read_line() == std::optional<std::string>("5 error:bad_request"));
    CHECK(t.read_line() == std::optional<std::string>("6 ok"));
    CHECK(files_in(records) == 0);
}

TEST_CASE("lond answers error:indeterminate for a durable request that started but has no "
          "outcome on record, and never runs it",
          "[integration][critical]") {
    Cluster c(hosts(2));
    auto records = c.dir(1) / "state" / "critical" / c.id(0);
    std::filesystem::create_directories(records);
    std::ofstream(records / "0123456789abcdef0123456789abcdef") << "started\n"; // lond died
    c.start_all();
    TcpClient t(c.address(0), c.address(1), 5663);
    t.send("init:1:" + c.id(0) + ":" + c.id(1) + ":insecure\n");
    REQUIRE(t.read_line() == std::optional<std::string>("ok:insecure"));
    t.send("1 critical:0123456789abcdef0123456789abcdef:echo:again\n");
    CHECK(t.read_line() == std::optional<std::string>("1 error:indeterminate"));
}
