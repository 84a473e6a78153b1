#include <catch2/catch.hpp>

#include "negotiation.hpp"

using namespace lon::proto;

TEST_CASE("init line: format and parse", "[proto]") {
    InitLine init;
    init.client_id = "msul1";
    init.server_id = "msul2";
    init.offers_ssl = true;
    init.offers_insecure = true;
    CHECK(format_init(init) == "init:1:msul1:msul2:ssl,insecure");
    auto back = parse_init("init:1:msul1:msul2:ssl,insecure");
    REQUIRE(back);
    CHECK(back->version == 1);
    CHECK(back->client_id == "msul1");
    CHECK(back->server_id == "msul2");
    CHECK(back->offers_ssl);
    CHECK(back->offers_insecure);
    auto plain = parse_init("init:1:a:b:insecure");
    REQUIRE(plain);
    CHECK_FALSE(plain->offers_ssl);
    CHECK(plain->offers_insecure);
    CHECK(parse_init("init:7:a:b:ssl")->version == 7); // parsed; refused later as `version`
}

TEST_CASE("init line: malformed input is rejected", "[proto]") {
    for (const char* bad : {"", "init", "init:1:a:b", "init:1:a:b:", "init:1:a:b:tls",
                            "init:1:a:b:ssl,ssl", "init:1:a:b:ssl,", "init:x:a:b:ssl",
                            "init:-1:a:b:ssl", "init:1:a b:c:ssl", "init:1:a:b:ssl:extra",
                            "INIT:1:a:b:ssl", "init:1::b:ssl", "init:1:a/..:b:ssl",
                            "init:1234567890:a:b:ssl"}) {
        INFO(bad);
        CHECK_FALSE(parse_init(bad));
    }
    CHECK_FALSE(parse_init("init:1:" + std::string(70, 'a') + ":b:ssl")); // id over 64
    CHECK_FALSE(parse_init("init:1:a:b:" + std::string(1100, 's')));      // over 1 KiB
}

TEST_CASE("answers: format and parse", "[proto]") {
    CHECK(format_answer(accept(Mode::ssl)) == "ok:ssl");
    CHECK(format_answer(accept(Mode::insecure)) == "ok:insecure");
    CHECK(format_answer(refuse(Refusal::address_mismatch)) == "refused:address_mismatch");
    auto a = parse_answer("ok:insecure");
    REQUIRE(a);
    CHECK(a->ok);
    CHECK(a->mode == Mode::insecure);
    auto r = parse_answer("refused:some_future_reason");
    REQUIRE(r);
    CHECK_FALSE(r->ok);
    CHECK(r->reason == "some_future_reason");
    CHECK_FALSE(parse_answer("ok:tls"));
    CHECK_FALSE(parse_answer("refused:"));
    CHECK_FALSE(parse_answer("refused:Bad Reason"));
    CHECK_FALSE(parse_answer("ok"));
}

TEST_CASE("every refusal has its DESIGN.md name", "[proto]") {
    CHECK(to_string(Refusal::unknown_host) == "unknown_host");
    CHECK(to_string(Refusal::address_mismatch) == "address_mismatch");
    CHECK(to_string(Refusal::ssl_required) == "ssl_required");
    CHECK(to_string(Refusal::downgrade) == "downgrade");
    CHECK(to_string(Refusal::version) == "version");
    CHECK(to_string(Refusal::busy) == "busy");
}

namespace {

Policy policy(bool cert, bool allow, bool pinned) {
    Policy p;
    p.have_cert = cert;
    p.allow_insecure = allow;
    p.peer_pinned = pinned;
    return p;
}

} // namespace

TEST_CASE("client_offer follows the fallback policy", "[proto]") {
    auto o = client_offer("a", "b", policy(true, true, false));
    REQUIRE(o);
    CHECK(format_init(*o) == "init:1:a:b:ssl,insecure");
    CHECK(format_init(*client_offer("a", "b", policy(true, false, false))) == "init:1:a:b:ssl");
    CHECK(format_init(*client_offer("a", "b", policy(true, true, true))) == "init:1:a:b:ssl");
    CHECK(format_init(*client_offer("a", "b", policy(false, true, false))) ==
          "init:1:a:b:insecure");
    CHECK_FALSE(client_offer("a", "b", policy(false, false, false)));
    CHECK_FALSE(client_offer("a", "b", policy(false, true, true)));
}

TEST_CASE("server_decide: the decision table", "[proto]") {
    struct Row {
        bool client_ssl, client_insecure, server_cert, server_allow, pinned;
        const char* expected;
    };
    const Row rows[] = {
        {true, true, true, true, false, "ok:ssl"},
        {true, false, true, false, true, "ok:ssl"},
        {true, true, false, true, false, "ok:insecure"},   // server has no certificate
        {false, true, true, true, false, "ok:insecure"},   // client has no certificate
        {false, true, true, false, false, "refused:ssl_required"},
        {true, false, false, true, false, "refused:ssl_required"},
        {false, true, true, true, true, "refused:downgrade"},
        {true, true, false, true, true, "refused:downgrade"},
    };
    for (const auto& r : rows) {
        InitLine init;
        init.client_id = "a";
        init.server_id = "b";
        init.offers_ssl = r.client_ssl;
        init.offers_insecure = r.client_insecure;
        INFO(format_init(init) << " cert=" << r.server_cert << " allow=" << r.server_allow
                               << " pinned=" << r.pinned);
        CHECK(format_answer(server_decide(init, policy(r.server_cert, r.server_allow, r.pinned))) ==
              r.expected);
    }
    InitLine future;
    future.version = 2;
    future.client_id = "a";
    future.server_id = "b";
    future.offers_insecure = true;
    CHECK(format_answer(server_decide(future, policy(false, true, false))) == "refused:version");
}

TEST_CASE("client_accepts only what it offered and may use", "[proto]") {
    auto offer = *client_offer("a", "b", policy(false, true, false));
    CHECK(client_accepts(offer, accept(Mode::insecure), policy(false, true, false)));
    CHECK_FALSE(client_accepts(offer, accept(Mode::ssl), policy(false, true, false)));
    CHECK_FALSE(client_accepts(offer, refuse(Refusal::busy), policy(false, true, false)));
    auto ssl_only = *client_offer("a", "b", policy(true, true, true));
    CHECK(client_accepts(ssl_only, accept(Mode::ssl), policy(true, true, true)));
    CHECK_FALSE(client_accepts(ssl_only, accept(Mode::insecure), policy(true, true, true)));
}
