#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>

#include "harness.hpp"
#include "loncontrol_run.hpp"

using namespace it;

namespace {

bool title_is(pid_t pid, const std::string& title) {
    return read_title(pid) == title;
}

std::string linked_title(const Cluster& c, int peer, int retries, const char* mode) {
    return "lonc: " + c.id(peer) + " Connection count: 1 Retries remaining: " +
           std::to_string(retries) + " (" + mode + ")";
}

} // namespace

TEST_CASE("seed scenario: insecure cluster, certificates by the scripts, reload, all ssl",
          "[integration][tls]") {
    Cluster c;
    c.start_all();
    for (int from = 0; from < 3; ++from) {
        for (int to = 0; to < 3; ++to) {
            if (from != to) {
                REQUIRE(c.request(from, to, "ping") == c.id(to));
                CHECK(wait_until(5s, [&] {
                    return title_is(c.lonc_child(from, to), linked_title(c, to, 3, "insecure"));
                }));
            }
        }
    }
    // The admin's workflow on every host; each response script reloads that host.
    for (int i = 0; i < 3; ++i) {
        c.issue_certificate(i);
    }
    auto cert = read_file(c.dir(0) / "certs" / "lonhostcert.pem");
    CHECK(cert.find("BEGIN CERTIFICATE") != std::string::npos);
    // Once every host has its certificate, a reload everywhere moves every link to ssl.
    for (int i = 0; i < 3; ++i) {
        c.reload(i);
    }
    for (int from = 0; from < 3; ++from) {
        for (int to = 0; to < 3; ++to) {
            if (from == to) {
                continue;
            }
            INFO(c.id(from) << " -> " << c.id(to));
            CHECK(wait_until(10s, [&] {
                c.request(from, to, "ping", 2s);
                return title_is(c.lonc_child(from, to), linked_title(c, to, 3, "ssl"));
            }));
            CHECK(c.request(from, to, "pong") == c.id(to) + ":" + c.id(from));
            CHECK(std::filesystem::exists(c.dir(from) / "state" / "pinned" / c.id(to)));
        }
    }
    CHECK(wait_until(5s, [&] {
        return title_is(c.lond_child(1, 0), "lond: " + c.id(0) + " Connection count: 1 (ssl)");
    }));
    // Over ssl every command is served, not only the insecure list.
    CHECK(c.request(0, 1, "no_such_command") == "unknown_cmd");
    UnixClient u(c.socket(0, 1));
    u.send("lonc:status\n");
    auto status = u.read_line();
    REQUIRE(status);
    CHECK(status->find("\"mode\":\"ssl\"") != std::string::npos);
    CHECK(status->find("\"peer_subject\":\"" + c.id(1) + "\"") != std::string::npos);
    CHECK(status->find("\"pinned\":true") != std::string::npos);
}

TEST_CASE("tls: a pinned peer is never talked to in plaintext again", "[integration][tls]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    c.issue_certificate(1);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    REQUIRE(wait_until(5s, [&] { return title_is(c.lonc_child(0, 1), linked_title(c, 1, 3, "ssl")); }));
    // A downgrade attempt: host 0's address, offering plaintext only.
    TcpClient t(c.address(0), c.address(1), 5663);
    t.send("init:1:" + c.id(0) + ":" + c.id(1) + ":insecure\n");
    CHECK(t.read_line() == std::optional<std::string>("refused:downgrade"));
    CHECK(t.closed_by_peer());
    // Host 0 loses its certificate: its lonc may not fall back to insecure with host 1.
    c.stop_lonc(0);
    std::filesystem::remove(c.dir(0) / "certs" / "lonhostcert.pem");
    c.start_lonc(0);
    CHECK(c.request(0, 1, "ping") == "con_lost");
    // The log says why (pinned, not "insecure not allowed": insecure is allowed) and the way out.
    CHECK(file_has_line_with(c.log_file(0, "lonc"),
                             {"no way to link to " + c.id(1) + ": this host has no usable certificate",
                              c.id(1) + " is pinned", "loncontrol unpin " + c.id(1)}));
    // Until the admin unpins it.
    auto r = loncontrol(c.config(0), {"unpin", c.id(1)});
    CHECK(r.code == 0);
    CHECK(r.output.find("unpinned " + c.id(1)) != std::string::npos);
    ::kill(c.lonc_pid(0), SIGUSR1); // revive at once
    // Host 0 now offers plaintext, but host 1 still pins host 0: refused as a downgrade.
    CHECK(c.request(0, 1, "ping") == "con_lost");
    CHECK(wait_until(5s, [&] {
        return read_file(c.log_file(1, "lond")).find("refused " + c.id(0) + " (" + c.address(0) +
                                                      "): downgrade") != std::string::npos;
    }));
}

TEST_CASE("tls: a server that requires ssl refuses a plaintext client", "[integration][tls]") {
    ClusterOptions o = hosts(2);
    Cluster c(o);
    c.issue_certificate(1);
    std::ofstream(c.config(1), std::ios::app) << "lond: { allow_insecure: false }\n";
    c.start_all();
    TcpClient t(c.address(0), c.address(1), 5663);
    t.send("init:1:" + c.id(0) + ":" + c.id(1) + ":insecure\n");
    CHECK(t.read_line() == std::optional<std::string>("refused:ssl_required"));
    // Host 0 has no certificate: its lonc cannot link, and says why.
    CHECK(c.request(0, 1, "ping") == "con_lost");
    CHECK(wait_until(5s, [&] {
        return read_file(c.log_file(0, "lonc")).find("refused:ssl_required") != std::string::npos;
    }));
}

TEST_CASE("tls: certificates from another CA are refused, nothing falls back",
          "[integration][tls]") {
    Cluster c(hosts(2));
    c.issue_certificate(0, "ca");
    c.issue_certificate(1, "other-ca");
    c.start_all();
    CHECK(c.request(0, 1, "ping") == "con_lost");
    CHECK(wait_until(5s, [&] {
        return read_file(c.log_file(0, "lonc")).find("TLS handshake") != std::string::npos;
    }));
    // Never an insecure link instead: the child is there, still trying, and nothing is served.
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    std::string title = read_title(child);
    REQUIRE(title.rfind("lonc: " + c.id(1) + " ", 0) == 0);
    CHECK(title.find("(insecure)") == std::string::npos);
    CHECK(c.request(0, 1, "ping") == "con_lost");
    CHECK_FALSE(std::filesystem::exists(c.dir(0) / "state" / "pinned" / c.id(1)));
}

TEST_CASE("tls: a key file readable by others stops the daemon with a clear error",
          "[integration][tls]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    auto key = c.dir(0) / "certs" / "lonhostkey.pem";
    std::filesystem::permissions(key, std::filesystem::perms::group_read | std::filesystem::perms::others_read,
                                 std::filesystem::perm_options::add);
    auto r = run({lond_bin().string(), "--config", c.config(0).string(), "--foreground"});
    CHECK(r.code == 3);
    CHECK(r.output.find(key.string() + " has mode 0644; refusing to use it") != std::string::npos);
}

TEST_CASE("seed scenario without a reload: plaintext links upgrade by themselves",
          "[integration][tls]") {
    // With keepalive 1s, a lonc that has a certificate retries ssl on its plaintext links
    // every second; installing certificates (the response scripts reload only their own host)
    // is then enough.
    ClusterOptions o = hosts(2);
    o.lonc_yaml = "{ retries: 3, backoff_initial: 100ms, backoff_max: 1s, keepalive: 1s }";
    Cluster c(o);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    REQUIRE(c.request(1, 0, "ping") == c.id(0));
    c.issue_certificate(0);
    c.issue_certificate(1);
    for (int from = 0; from < 2; ++from) {
        int to = 1 - from;
        INFO(c.id(from) << " -> " << c.id(to));
        CHECK(wait_until(10s, [&] {
            return title_is(c.lonc_child(from, to), linked_title(c, to, 3, "ssl"));
        }));
        CHECK(c.request(from, to, "ping") == c.id(to));
    }
}

TEST_CASE("tls: an encrypted key with tls.key_passphrase_file links ssl", "[integration][tls]") {
    ClusterOptions o = hosts(2);
    o.extra_yaml = "tls: { key_passphrase_file: passphrase.txt }\n";
    Cluster c(o);
    for (int i = 0; i < 2; ++i) {
        std::ofstream(c.dir(i) / "passphrase.txt") << "correct horse battery staple\n";
        std::filesystem::permissions(c.dir(i) / "passphrase.txt", std::filesystem::perms::owner_read);
        c.issue_certificate(i);
    }
    CHECK(read_file(c.dir(0) / "certs" / "lonhostkey.pem").find("ENCRYPTED") != std::string::npos);
    c.start_all();
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(wait_until(5s, [&] { return title_is(c.lonc_child(0, 1), linked_title(c, 1, 3, "ssl")); }));
}

TEST_CASE("tls: a reload with a broken key keeps the old credentials", "[integration][tls]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    c.issue_certificate(1);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    auto key = c.dir(0) / "certs" / "lonhostkey.pem";
    std::filesystem::permissions(key, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
    c.reload(0);
    CHECK(wait_until(5s, [&] {
        return read_file(c.log_file(0, "lonc")).find("reload refused, keeping the previous configuration and credentials") !=
               std::string::npos;
    }));
    // Still ssl, still working, through the reload.
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(wait_until(5s, [&] { return title_is(c.lonc_child(0, 1), linked_title(c, 1, 3, "ssl")); }));
}

TEST_CASE("tls: lonc.allow_insecure false and no certificate: no connection at all, requests "
          "get con_lost",
          "[integration][tls][lonc_no_insecure]") {
    ClusterOptions o = hosts(2);
    o.lonc_yaml = "{ retries: 3, backoff_initial: 100ms, backoff_max: 1s, stable_after: 1s, "
                  "idle_timeout: 30s, request_timeout: 5s, keepalive: 30s, max_connections: 3, "
                  "allow_insecure: false }";
    Cluster c(o);
    c.start_all();
    // Host 1 would serve plaintext; host 0 may not speak it and has nothing else.
    CHECK(c.request(0, 1, "ping") == "con_lost");
    CHECK(c.request(0, 1, "echo:x") == "con_lost");
    // The peer never saw a connection from host 0 (no lond child, nothing in its log).
    CHECK(c.lond_child(1, 0) <= 0);
    CHECK_FALSE(file_has_line_with(c.log_file(1, "lond"), {"link from " + c.id(0)}));
}
