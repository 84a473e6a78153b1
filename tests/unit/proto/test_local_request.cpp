#include <string>

#include <catch2/catch.hpp>

#include "local_request.hpp"

using namespace lon::proto;

TEST_CASE("local requests: plain, lonc commands and durable ones", "[proto]") {
    auto p = classify_local("echo:a", 1024);
    CHECK(p.kind == LocalKind::plain);
    CHECK(p.body == "echo:a");
    CHECK(classify_local("lonc:status", 1024).kind == LocalKind::lonc_command);
    auto d = classify_local("lonc:critical:echo:x", 1024);
    CHECK(d.kind == LocalKind::durable);
    CHECK(d.body == "echo:x");
}

TEST_CASE("local requests: critical lines are refused, nested or not", "[proto]") {
    CHECK(classify_local("critical:abc:ping", 1024).kind == LocalKind::bad_request);
    CHECK(classify_local("critical", 1024).kind == LocalKind::bad_request);
    CHECK(classify_local("lonc:critical:critical:abc:ping", 1024).kind ==
          LocalKind::bad_request);
    CHECK(classify_local("lonc:critical:critical", 1024).kind == LocalKind::bad_request);
    // The acknowledgement only lonc sends: refused like critical:.
    CHECK(classify_local("critical_ack:0123456789abcdef0123456789abcdef", 1024).kind ==
          LocalKind::bad_request);
    CHECK(classify_local("critical_ack", 1024).kind == LocalKind::bad_request);
    CHECK(classify_local("lonc:critical:critical_ack:abc", 1024).kind == LocalKind::bad_request);
    // Not a critical command: fine.
    CHECK(classify_local("criticality:x", 1024).kind == LocalKind::plain);
    CHECK(classify_local("echo:critical:x", 1024).kind == LocalKind::plain);
}

TEST_CASE("local requests: nothing is sent that is over the limit once tagged", "[proto]") {
    const std::size_t max = 1024;
    CHECK(max_local_request(max) == max - 21);
    std::string fits(max - 21, 'a');
    CHECK(classify_local(fits, max).kind == LocalKind::plain);
    CHECK(classify_local(fits + "a", max).kind == LocalKind::too_long);
    CHECK(classify_local(std::string(max, 'a'), max).kind == LocalKind::too_long);
    // Durable: "<tag> critical:<id up to 64>:<request>" must fit.
    std::size_t dmax = max_durable_request(max);
    CHECK(dmax == max - 21 - 9 - 64 - 1);
    CHECK(classify_local("lonc:critical:" + std::string(dmax, 'b'), max).kind ==
          LocalKind::durable);
    CHECK(classify_local("lonc:critical:" + std::string(dmax + 1, 'b'), max).kind ==
          LocalKind::too_long);
    // Tiny limits do not underflow.
    CHECK(max_local_request(5) == 0);
    CHECK(classify_local("a", 5).kind == LocalKind::too_long);
}
