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

TEST_CASE("init line: version digits only, ids checked, offers in any order", "[proto]") {
    for (const char* bad : {"init:-0:a:b:ssl", "init:+1:a:b:ssl", "init: 1:a:b:ssl", "init::a:b:ssl",
                            "init:1:a:b:insecure,ssl,ssl", "init:1:a:b:,ssl", "init:1:a:b: ssl",
                            "init:1:a:b:ssl\r", "init:1:a:b:SSL", "init:1:a:b:ssl;insecure"}) {
        INFO(bad);
        CHECK_FALSE(parse_init(bad));
    }
    auto both = parse_init("init:000000001:a:b:insecure,ssl"); // order is free
    REQUIRE(both);
    CHECK(both->version == 1);
    CHECK(both->offers_ssl);
    CHECK(both->offers_insecure);
    CHECK(parse_init("init:999999999:a:b:ssl")->version == 999999999);
    // The longest valid line (9-digit version, 64-character ids, both offers) parses.
    std::string longest = "init:000000001:" + std::string(64, 'c') + ":" + std::string(64, 's') +
                          ":ssl,insecure";
    REQUIRE(longest.size() < max_init_line);
    CHECK(parse_init(longest));
    CHECK_FALSE(parse_init("init:000000001:" + std::string(65, 'c') + ":s:ssl"));
}

TEST_CASE("answers: round trip every mode and refusal", "[proto]") {
    for (Mode m : {Mode::ssl, Mode::insecure}) {
        auto a = parse_answer(format_answer(accept(m)));
        REQUIRE(a);
        CHECK(a->ok);
        CHECK(a->mode == m);
    }
    for (Refusal r : {Refusal::unknown_host, Refusal::address_mismatch, Refusal::ssl_required,
                      Refusal::downgrade, Refusal::version, Refusal::busy, Refusal::wrong_server,
                      Refusal::bad_init, Refusal::extra_data, Refusal::revoked}) {
        auto a = parse_answer(format_answer(refuse(r)));
        REQUIRE(a);
        CHECK_FALSE(a->ok);
        CHECK(a->reason == to_string(r));
    }
    CHECK(to_string(Mode::ssl) == "ssl");
    CHECK(to_string(Mode::insecure) == "insecure");
    for (const char* bad : {"", "ok:", "ok:ssl ", "ok:ssl\r", "OK:ssl", "ok:ssl,insecure",
                            "refused", "refused:busy:now", "refused:busy\r", "refused:1"}) {
        INFO(bad);
        CHECK_FALSE(parse_answer(bad));
    }
}

namespace {

struct Side {
    bool cert, allow, pinned;
};

/// DESIGN.md "Certificates and policy", written independently of the code under test:
/// ssl when both sides have a usable certificate; insecure only when one side has none, both
/// allow it and neither has pinned the other; otherwise no link.
std::string expected_outcome(const Side& client, const Side& server) {
    if (client.cert && server.cert) {
        return "ssl";
    }
    if (client.allow && server.allow && !client.pinned && !server.pinned) {
        return "insecure";
    }
    return "none";
}

} // namespace

TEST_CASE("negotiation: client and server together follow DESIGN.md for all 64 cases",
          "[proto]") {
    int ssl = 0;
    int insecure = 0;
    for (int bits = 0; bits < 64; ++bits) {
        Side c{(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0};
        Side s{(bits & 8) != 0, (bits & 16) != 0, (bits & 32) != 0};
        Policy cp = policy(c.cert, c.allow, c.pinned);
        Policy sp = policy(s.cert, s.allow, s.pinned);
        std::string outcome = "none";
        std::string wire_answer = "-";
        if (auto offer = client_offer("cli", "srv", cp)) {
            // Through the wire format both ways, as the daemons do.
            auto init = parse_init(format_init(*offer));
            REQUIRE(init);
            auto answer = parse_answer(format_answer(server_decide(*init, sp)));
            REQUIRE(answer);
            wire_answer = format_answer(*answer);
            if (client_accepts(*offer, *answer, cp)) {
                outcome = std::string(to_string(answer->mode));
            }
        }
        INFO("client cert=" << c.cert << " allow=" << c.allow << " pinned=" << c.pinned
                            << "; server cert=" << s.cert << " allow=" << s.allow
                            << " pinned=" << s.pinned << "; answer " << wire_answer);
        CHECK(outcome == expected_outcome(c, s));
        ssl += outcome == "ssl" ? 1 : 0;
        insecure += outcome == "insecure" ? 1 : 0;
    }
    CHECK(ssl == 16);     // both certs: the 16 allow/pinned combinations
    CHECK(insecure == 3); // one cert missing (3 of 4 cert pairs), all allow, none pinned
}

TEST_CASE("server_decide: refusal reasons when one side lacks a certificate", "[proto]") {
    InitLine insecure_only;
    insecure_only.client_id = "a";
    insecure_only.server_id = "b";
    insecure_only.offers_insecure = true;
    // The pinned check comes first: a pinned peer asking for insecure is a downgrade even
    // where insecure is not allowed at all.
    CHECK(format_answer(server_decide(insecure_only, policy(true, false, true))) ==
          "refused:downgrade");
    CHECK(format_answer(server_decide(insecure_only, policy(false, false, false))) ==
          "refused:ssl_required");
    CHECK(format_answer(server_decide(insecure_only, policy(false, true, false))) ==
          "ok:insecure"); // neither side has a certificate
    InitLine nothing = insecure_only;
    nothing.offers_insecure = false;
    CHECK(format_answer(server_decide(nothing, policy(true, true, false))) ==
          "refused:ssl_required");
    InitLine old = insecure_only;
    old.version = 0;
    CHECK(format_answer(server_decide(old, policy(true, true, true))) == "refused:version");
}

TEST_CASE("client_accepts: never a refusal, an unoffered mode or a pinned downgrade",
          "[proto]") {
    auto both = *client_offer("a", "b", policy(true, true, false));
    CHECK(client_accepts(both, accept(Mode::ssl), policy(true, true, false)));
    CHECK(client_accepts(both, accept(Mode::insecure), policy(true, true, false)));
    CHECK_FALSE(client_accepts(both, accept(Mode::insecure), policy(true, true, true)));
    CHECK_FALSE(client_accepts(both, accept(Mode::ssl), policy(false, true, false)));
    for (Refusal r : {Refusal::busy, Refusal::downgrade, Refusal::ssl_required}) {
        CHECK_FALSE(client_accepts(both, refuse(r), policy(true, true, false)));
    }
    auto ssl_only = *client_offer("a", "b", policy(true, false, false));
    CHECK_FALSE(client_accepts(ssl_only, accept(Mode::insecure), policy(true, true, false)));
}
