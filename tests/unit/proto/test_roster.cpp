// The CA roster (proto/roster.hpp) and its effect on negotiation: a peer the cluster CA lists
// as holding a certificate is treated as pinned before the first ssl link (issue 8 §3).

#include <catch2/catch.hpp>

#include "negotiation.hpp"
#include "roster.hpp"

using namespace lon::proto;

namespace {

Policy with_roster(bool cert, bool allow, bool on_roster) {
    Policy p;
    p.have_cert = cert;
    p.allow_insecure = allow;
    p.peer_on_roster = on_roster;
    return p;
}

InitLine offer(bool ssl, bool insecure) {
    InitLine init;
    init.client_id = "a";
    init.server_id = "b";
    init.offers_ssl = ssl;
    init.offers_insecure = insecure;
    return init;
}

const char* const good_roster = "lonlink-roster 1\n"
                                "serial 7\n"
                                "issued 2025-06-01T12:00:00Z\n"
                                "host msul1 1900000000\n"
                                "host msul2 1800000000\n";

} // namespace

TEST_CASE("roster: a listed peer is never offered insecure", "[proto][roster]") {
    CHECK(format_init(*client_offer("a", "b", with_roster(true, true, false))) ==
          "init:1:a:b:ssl,insecure");
    CHECK(format_init(*client_offer("a", "b", with_roster(true, true, true))) ==
          "init:1:a:b:ssl");
    // Without a certificate of our own there is nothing left to offer a listed peer.
    CHECK_FALSE(client_offer("a", "b", with_roster(false, true, true)));
}

TEST_CASE("roster: a server refuses insecure from a listed peer as a downgrade",
          "[proto][roster]") {
    // The man in the middle rewrote "ssl" or "ssl,insecure" to "insecure" on a first link.
    CHECK(format_answer(server_decide(offer(false, true), with_roster(true, true, true))) ==
          "refused:downgrade");
    // We have no usable certificate, the listed client offers both: still no plaintext.
    CHECK(format_answer(server_decide(offer(true, true), with_roster(false, true, true))) ==
          "refused:downgrade");
    // ssl is unaffected.
    CHECK(format_answer(server_decide(offer(true, false), with_roster(true, true, true))) ==
          "ok:ssl");
    // Not listed: trust on first use, as before.
    CHECK(format_answer(server_decide(offer(false, true), with_roster(true, true, false))) ==
          "ok:insecure");
}

TEST_CASE("roster: a client refuses ok:insecure from a listed peer", "[proto][roster]") {
    auto both = offer(true, true); // an offer made before the roster arrived (HUP)
    CHECK_FALSE(client_accepts(both, accept(Mode::insecure), with_roster(true, true, true)));
    CHECK(client_accepts(both, accept(Mode::ssl), with_roster(true, true, true)));
    CHECK(client_accepts(both, accept(Mode::insecure), with_roster(true, true, false)));
}

TEST_CASE("roster: parse the signed text", "[proto][roster]") {
    auto r = parse_roster(good_roster);
    REQUIRE(r.roster);
    CHECK(r.error.empty());
    CHECK(r.roster->serial == 7);
    CHECK(r.roster->issued == "2025-06-01T12:00:00Z");
    CHECK(r.roster->hosts.size() == 2);
    CHECK(r.roster->lists("msul1", 1700000000));
    CHECK(r.roster->lists("msul2", 1700000000));
    CHECK_FALSE(r.roster->lists("msul3", 1700000000));
    // A listed certificate that has expired no longer counts: that host may link insecure
    // again where policy allows (DESIGN.md: expired is as good as missing).
    CHECK_FALSE(r.roster->lists("msul2", 1800000000));
    CHECK(r.roster->lists("msul1", 1800000000));
    // CRLF line ends (a roster saved on another system) are accepted.
    std::string crlf;
    for (char ch : std::string(good_roster)) {
        if (ch == '\n') {
            crlf += '\r';
        }
        crlf += ch;
    }
    CHECK(parse_roster(crlf).roster);
    // A host listed twice keeps its latest certificate's expiry.
    auto twice = parse_roster(std::string(good_roster) + "host msul2 1950000000\n");
    REQUIRE(twice.roster);
    CHECK(twice.roster->lists("msul2", 1900000000));
}

TEST_CASE("roster: malformed text is rejected with a reason", "[proto][roster]") {
    const char* bad[] = {
        "",
        "lonlink-roster 2\nserial 1\nissued 2025-06-01T12:00:00Z\n",
        "serial 1\nissued 2025-06-01T12:00:00Z\nhost a 1\n",
        "lonlink-roster 1\nissued 2025-06-01T12:00:00Z\nhost a 1\n",          // no serial
        "lonlink-roster 1\nserial 1\nhost a 1\n",                              // no issued
        "lonlink-roster 1\nserial x\nissued 2025-06-01T12:00:00Z\n",
        "lonlink-roster 1\nserial 1\nissued yesterday\n",
        "lonlink-roster 1\nserial 1\nissued 2025-06-01T12:00:00Z\nhost bad:id 1\n",
        "lonlink-roster 1\nserial 1\nissued 2025-06-01T12:00:00Z\nhost a\n",
        "lonlink-roster 1\nserial 1\nissued 2025-06-01T12:00:00Z\nhost a -5\n",
        "lonlink-roster 1\nserial 1\nissued 2025-06-01T12:00:00Z\nguest a 1\n",
        "lonlink-roster 1\nserial 1\nserial 2\nissued 2025-06-01T12:00:00Z\n",
    };
    for (const char* text : bad) {
        INFO(text);
        auto r = parse_roster(text);
        CHECK_FALSE(r.roster);
        CHECK_FALSE(r.error.empty());
    }
    CHECK_FALSE(parse_roster(std::string(max_roster_bytes + 1, 'x')).roster);
}

TEST_CASE("roster: a newer roster replaces an older one, never the reverse", "[proto][roster]") {
    auto older = *parse_roster("lonlink-roster 1\nserial 3\nissued 2025-06-01T12:00:00Z\n").roster;
    auto newer = *parse_roster("lonlink-roster 1\nserial 4\nissued 2025-05-01T12:00:00Z\n").roster;
    // The CA's serial decides, not the date (a CA clock set back must not undo a roster).
    CHECK(replaces(newer, older));
    CHECK_FALSE(replaces(older, newer));
    CHECK(replaces(older, older)); // the same roster loaded again
}
