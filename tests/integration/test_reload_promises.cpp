// Promises of issue 8 §2 about reloads and credentials:
// - a HUP that the parent refused is not half-applied by children started after it: a new
//   lonc child or lond child gets the configuration and credentials its parent validated
//   (never the broken files on disk), so it still links in ssl with a pinned peer;
// - credentials dropped because the clock said the certificate was not valid (any more, or
//   yet) come back by themselves when the clock is right again, and a lonc link that went
//   DEAD for that reason is revived, without a HUP.

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>

#include "harness.hpp"

using namespace it;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void write(const std::filesystem::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::trunc);
    out << text;
}

/// Two hosts with certificates, all daemons running, 0 -> 1 linked in ssl (and so pinned).
void link_in_ssl(Cluster& c) {
    c.issue_certificate(0);
    c.issue_certificate(1);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    REQUIRE(await_title([&] { return c.lonc_child(0, 1); },
                        title::lonc_linked(c.id(1), 1, 3, "ssl")) ==
            title::lonc_linked(c.id(1), 1, 3, "ssl"));
    REQUIRE(std::filesystem::exists(c.dir(0) / "state" / "pinned" / c.id(1)));
}

/// Kills the lonc child 0 -> 1 and the lond child of host 1 for host 0 with SIGKILL, so that
/// their parents start new ones; then 0 -> 1 must be answered in ssl by new children.
void new_children_link_in_ssl(Cluster& c) {
    pid_t old_lonc = c.lonc_child(0, 1);
    pid_t old_lond = c.lond_child(1, 0);
    REQUIRE(old_lonc > 0);
    REQUIRE(old_lond > 0);
    ::kill(old_lonc, SIGKILL);
    ::kill(old_lond, SIGKILL);
    REQUIRE(wait_until(5s, [&] { return !alive(old_lonc) && !alive(old_lond); }));
    // The lonc parent restarts its child on demand (after its restart backoff).
    std::string reply;
    CHECK(wait_until(15s, [&] {
        reply = c.request(0, 1, "ping", 3s);
        return reply == c.id(1);
    }));
    INFO("last reply: " << reply);
    CHECK(reply == c.id(1));
    pid_t lonc = c.lonc_child(0, 1);
    CHECK(lonc != old_lonc);
    CHECK(await_title_if([&] { return c.lonc_child(0, 1); },
                         [&](const std::string& t) {
                             return starts_with(t, "lonc: " + c.id(1) + " Connection count: ") &&
                                    ends_with(t, " (ssl)");
                         }) == title::lonc_linked(c.id(1), 1, 3, "ssl"));
    CHECK(c.lond_child(1, 0) != old_lond);
    std::string lond_title = await_title_if([&] { return c.lond_child(1, 0); },
                                            [&](const std::string& t) {
                                                return starts_with(t, "lond: " + c.id(0) + " Connection count: ") &&
                                                       ends_with(t, " (ssl)");
                                            });
    CHECK(ends_with(lond_title, " (ssl)"));
    CHECK(c.request(0, 1, "echo:still-here") == "still-here");
}

/// HUPs both daemons of hosts 0 and 1 and waits until every parent logged `reason`
/// (the refused reload) and is still running.
void reload_refused(Cluster& c, const std::string& reason) {
    for (int i = 0; i < 2; ++i) {
        c.reload(i);
    }
    for (int i = 0; i < 2; ++i) {
        for (const char* daemon : {"lond", "lonc"}) {
            INFO(daemon << " of " << c.id(i));
            CHECK(wait_until(5s, [&] {
                return file_has_line_with(c.log_file(i, daemon), {"reload refused", reason});
            }));
        }
        CHECK(alive(c.lond_pid(i)));
        CHECK(alive(c.lonc_pid(i)));
    }
}

} // namespace

TEST_CASE("reload2: a refused HUP (broken YAML) is not what new children load",
          "[integration][reload2]") {
    Cluster c(hosts(2));
    link_in_ssl(c);
    for (int i = 0; i < 2; ++i) {
        std::ofstream(c.config(i), std::ios::app) << "lonc: [this is: not, valid\n";
    }
    reload_refused(c, c.config(0).filename().string() + ":");
    // The error names file and line.
    CHECK(file_has_line_with(c.log_file(0, "lonc"), {"reload refused", c.config(0).string() + ":"}));
    new_children_link_in_ssl(c);
}

TEST_CASE("reload2: a refused HUP (key mode 0644) is not what new children load",
          "[integration][reload2]") {
    Cluster c(hosts(2));
    link_in_ssl(c);
    for (int i = 0; i < 2; ++i) {
        std::filesystem::permissions(c.dir(i) / "certs" / "lonhostkey.pem",
                                     std::filesystem::perms::group_read |
                                         std::filesystem::perms::others_read,
                                     std::filesystem::perm_options::add);
    }
    reload_refused(c, "has mode 0644");
    new_children_link_in_ssl(c);
}

TEST_CASE("reload2: a refused HUP (another host's certificate) is not what new children load",
          "[integration][reload2]") {
    Cluster c(hosts(2));
    link_in_ssl(c);
    // Swap the two hosts' certificates and keys (each pair matches, but names the other host).
    for (const char* f : {"lonhostcert.pem", "lonhostkey.pem"}) {
        auto a = c.dir(0) / "certs" / f;
        auto b = c.dir(1) / "certs" / f;
        std::string ta = read_file(a);
        std::string tb = read_file(b);
        write(a, tb);
        write(b, ta);
    }
    reload_refused(c, "not for this host");
    new_children_link_in_ssl(c);
}

TEST_CASE("reload2: a refused HUP (garbage CA) is not what new children load",
          "[integration][reload2]") {
    Cluster c(hosts(2));
    link_in_ssl(c);
    for (int i = 0; i < 2; ++i) {
        write(c.dir(i) / "certs" / "loncapaCA.pem",
              "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
    }
    reload_refused(c, "loncapaCA.pem");
    new_children_link_in_ssl(c);
}

TEST_CASE("reload2: credentials dropped while the clock was wrong come back without a HUP",
          "[integration][reload2][clock]") {
    INFO("needs libfaketime (scripts/deps.sh installs it)");
    REQUIRE(!libfaketime().empty());
    // An idle linked child re-checks the wall clock at least once per keepalive (it has no
    // faster tick; proto/PROTOCOL.md "Timers"): 10 s lets the jump be seen well within the
    // 30 s allowed below.
    ClusterOptions o = hosts(2);
    o.lonc.keepalive = "10s";
    Cluster c(o);
    c.issue_certificate(0);
    c.issue_certificate(1);
    auto clock_file = c.root() / "clock";
    write(clock_file, "+0d\n");
    for (int i = 0; i < 2; ++i) {
        c.start_lond(i, faked_clock(clock_file));
        c.start_lonc(i, faked_clock(clock_file));
    }
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    REQUIRE(await_title([&] { return c.lonc_child(0, 1); },
                        title::lonc_linked(c.id(1), 1, 3, "ssl")) ==
            title::lonc_linked(c.id(1), 1, 3, "ssl"));

    // Every daemon's clock jumps past the certificates' end (825 days): the link to the
    // pinned peer cannot be ssl and must not be insecure, so it goes DEAD.
    write(clock_file, "+1000d\n");
    std::string t = await_title_if([&] { return c.lonc_child(0, 1); },
                                   [&](const std::string& s) { return title::is_lonc_dead(s, c.id(1)); },
                                   30s);
    REQUIRE(title::is_lonc_dead(t, c.id(1)));
    // A lond child started while the clock is wrong.
    pid_t old_lond = c.lond_child(1, 0);
    if (old_lond > 0) {
        ::kill(old_lond, SIGKILL);
        REQUIRE(wait_until(5s, [&] { return !alive(old_lond); }));
    }
    // Host 0's lonc has nothing to offer a pinned peer now, so host 0 knocks by hand: the
    // lond parent starts a new child, whose clock is wrong from its start (it answers with a
    // refusal or a TLS handshake that cannot succeed; either is fine).
    {
        RawTcpClient knock(c.address(0), c.address(1));
        REQUIRE(knock.connected());
        knock.send("init:1:" + c.id(0) + ":" + c.id(1) + ":ssl\n");
        REQUIRE(wait_until(10s, [&] { return c.lond_child(1, 0) > 0; }));
        (void)knock.read_line(2s);
    }
    pid_t wrong_clock_lond = c.lond_child(1, 0);
    CHECK(wrong_clock_lond != old_lond);

    // The clock comes back: no HUP, no USR1; the link is ssl again with the same children.
    pid_t lonc = c.lonc_child(0, 1);
    write(clock_file, "+0d\n");
    std::string reply;
    CHECK(wait_until(20s, [&] {
        reply = c.request(0, 1, "ping", 2s);
        return reply == c.id(1);
    }));
    INFO("last reply: " << reply);
    CHECK(await_title([&] { return c.lonc_child(0, 1); }, title::lonc_linked(c.id(1), 1, 3, "ssl"),
                      10s) == title::lonc_linked(c.id(1), 1, 3, "ssl"));
    CHECK(c.lonc_child(0, 1) == lonc);
    CHECK(c.lond_child(1, 0) == wrong_clock_lond);
    CHECK(ends_with(read_title(wrong_clock_lond), " (ssl)"));
}

TEST_CASE("reload2: a certificate not valid yet at start becomes usable when the clock is right",
          "[integration][reload2][clock]") {
    INFO("needs libfaketime (scripts/deps.sh installs it)");
    REQUIRE(!libfaketime().empty());
    Cluster c(hosts(2));
    c.issue_certificate(0);
    c.issue_certificate(1);
    // The peer is pinned already (it linked in ssl before): insecure is no way out.
    std::filesystem::create_directories(c.dir(0) / "state" / "pinned");
    write(c.dir(0) / "state" / "pinned" / c.id(1), "");
    auto clock_file = c.root() / "clock";
    write(clock_file, "-2d\n"); // the clock is behind: certificates issued "in the future"
    for (int i = 0; i < 2; ++i) {
        c.start_lond(i, faked_clock(clock_file));
        c.start_lonc(i, faked_clock(clock_file));
    }
    CHECK(c.request(0, 1, "ping", 3s) == "con_lost");
    CHECK(file_has_line_with(c.log_file(0, "lonc"), {"not valid yet"}));
    write(clock_file, "+0d\n");
    std::string reply;
    CHECK(wait_until(20s, [&] {
        reply = c.request(0, 1, "ping", 2s);
        return reply == c.id(1);
    }));
    INFO("last reply: " << reply);
    CHECK(await_title([&] { return c.lonc_child(0, 1); }, title::lonc_linked(c.id(1), 1, 3, "ssl"),
                      10s) == title::lonc_linked(c.id(1), 1, 3, "ssl"));
}
