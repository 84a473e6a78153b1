// Revocation (loncapaCRL.pem in cert_dir, made by scripts/revoke-host) and the plain-sentence
// credential errors: real lond/lonc processes on loopback, certificates made by the scripts.

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.hpp"

using namespace it;

namespace {

bool log_has(const Cluster& c, int i, const char* daemon, const std::string& text) {
    return read_file(c.log_file(i, daemon)).find(text) != std::string::npos;
}

/// revoke-host on the cluster CA for host `i` (throws with its output on failure).
void revoke(const Cluster& c, int i) {
    auto r = run({"/bin/bash", (scripts_dir() / "revoke-host").string(), "--ca-dir",
                  c.ca_dir().string(), c.id(i)});
    if (r.code != 0) {
        throw std::runtime_error("revoke-host failed: " + r.output);
    }
}

/// Copies the CA's current CRL into host i's cert_dir, as an admin would.
void install_crl(const Cluster& c, int i) {
    std::filesystem::copy_file(c.ca_dir() / "loncapaCRL.pem",
                               c.dir(i) / "certs" / "loncapaCRL.pem",
                               std::filesystem::copy_options::overwrite_existing);
}

/// A fake lond on `address`:5663 for one connection: records the init line and every line
/// after it, answers the init with `answer`. Runs until `until` (a deadline, never a sleep).
struct FakeLond {
    std::string init;
    std::vector<std::string> after;
    std::thread thread;

    FakeLond(const std::string& address, std::string answer, std::chrono::milliseconds until) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(lon_port);
        ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        REQUIRE(::listen(fd, 4) == 0);
        auto deadline = std::chrono::steady_clock::now() + until;
        thread = std::thread([this, fd, answer = std::move(answer), deadline] {
            lon::UniqueFd listener(fd);
            auto left = [&] {
                return static_cast<int>(std::max<long>(
                    0, std::chrono::duration_cast<std::chrono::milliseconds>(
                           deadline - std::chrono::steady_clock::now())
                           .count()));
            };
            pollfd p{listener.get(), POLLIN, 0};
            if (::poll(&p, 1, left()) != 1) {
                return;
            }
            lon::UniqueFd conn(::accept(listener.get(), nullptr, nullptr));
            std::string in;
            bool answered = false;
            while (conn.valid() && left() > 0) {
                pollfd q{conn.get(), POLLIN, 0};
                if (::poll(&q, 1, left()) != 1) {
                    break;
                }
                char buf[512];
                ssize_t n = ::read(conn.get(), buf, sizeof buf);
                if (n <= 0) {
                    break;
                }
                in.append(buf, static_cast<std::size_t>(n));
                for (auto nl = in.find('\n'); nl != std::string::npos; nl = in.find('\n')) {
                    std::string line = in.substr(0, nl);
                    in.erase(0, nl + 1);
                    if (!answered) {
                        init = line;
                        answered = true;
                        std::string a = answer + "\n";
                        (void)!::write(conn.get(), a.data(), a.size());
                    } else {
                        after.push_back(line);
                    }
                }
            }
        });
    }
    void join() {
        if (thread.joinable()) {
            thread.join();
        }
    }
    ~FakeLond() { join(); }
};

} // namespace

TEST_CASE("revocation: a revoked host is refused by lond and by lonc, nothing falls back",
          "[integration][revocation]") {
    Cluster c(hosts(3));
    for (int i = 0; i < 3; ++i) {
        c.issue_certificate(i);
    }
    revoke(c, 2);
    install_crl(c, 0);
    install_crl(c, 1);
    c.start_all();
    // Hosts 0 and 1 link ssl as before (allow_insecure stays at its default, true).
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    CHECK(read_title(c.lonc_child(0, 1)).find("(ssl)") != std::string::npos);

    // The revoked host's lonc is refused by host 0's lond, with the reason in the log.
    CHECK(c.request(2, 0, "ping") == "con_lost");
    CHECK(wait_until(5s, [&] {
        return log_has(c, 0, "lond", "refused " + c.id(2) + " (" + c.address(2) + "): revoked");
    }));
    // Host 0's lonc refuses the revoked host's lond.
    CHECK(c.request(0, 2, "ping") == "con_lost");
    CHECK(wait_until(5s, [&] {
        return log_has(c, 0, "lonc", "cannot link to " + c.id(2) + ": revoked");
    }));
    CHECK(read_title(c.lonc_child(0, 2)).find("(insecure)") == std::string::npos);
    CHECK(read_title(c.lonc_child(2, 0)).find("(insecure)") == std::string::npos);

    // No plaintext instead: the revoked host offering insecure only is refused too. (Not
    // because of a pin: host 0 never linked ssl with it, and none is left to help.)
    std::filesystem::remove(c.dir(0) / "state" / "pinned" / c.id(2));
    TcpClient t(c.address(2), c.address(0), lon_port);
    t.send("init:1:" + c.id(2) + ":" + c.id(0) + ":insecure\n");
    CHECK(t.read_line() == std::optional<std::string>("refused:revoked"));
    CHECK(t.closed_by_peer());

    // Nor does host 0's lonc accept plaintext from whatever answers at the revoked host's
    // address: it offers ssl only, and takes no ok:insecure.
    c.stop_lond(2);
    FakeLond fake(c.address(2), "ok:insecure", 8s);
    ::kill(c.lonc_pid(0), SIGUSR1); // revive at once (the failures above used the retries)
    CHECK(c.request(0, 2, "ping", 7s) == "con_lost");
    fake.join();
    CHECK(fake.init == "init:1:" + c.id(0) + ":" + c.id(2) + ":ssl");
    CHECK(fake.after.empty());
}

TEST_CASE("revocation: revoke while running, HUP, new connections refused",
          "[integration][revocation]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    c.issue_certificate(1);
    c.start_all();
    REQUIRE(c.request(1, 0, "ping") == c.id(0));
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    revoke(c, 1);
    install_crl(c, 0);
    c.reload(0);
    // Host 1 comes back with a new connection: refused, with the reason.
    c.stop_lonc(1);
    c.start_lonc(1);
    CHECK(wait_until(10s, [&] {
        return c.request(1, 0, "ping", 2s) == "con_lost" &&
               log_has(c, 0, "lond", "refused " + c.id(1) + " (" + c.address(1) + "): revoked");
    }));
    // Host 0's own links to host 1 made before the reload are dropped, not kept.
    CHECK(wait_until(10s, [&] {
        return c.request(0, 1, "ping", 2s) == "con_lost" &&
               log_has(c, 0, "lonc", "cannot link to " + c.id(1) + ": revoked");
    }));
}

TEST_CASE("revocation: a CRL that cannot be used stops the start and is refused on HUP",
          "[integration][revocation]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    c.issue_certificate(1);
    auto crl = c.dir(0) / "certs" / "loncapaCRL.pem";
    SECTION("garbage at start") {
        std::ofstream(crl) << "not a CRL\n";
        auto r = run({lond_bin().string(), "--config", c.config(0).string(), "--foreground"}, 5s);
        CHECK(r.code == 3);
        CHECK(r.output.find(crl.string() + " holds no CRL") != std::string::npos);
        auto r2 = run({lonc_bin().string(), "--config", c.config(0).string(), "--foreground"}, 5s);
        CHECK(r2.code == 3);
    }
    SECTION("signed by another CA at start") {
        auto other = c.root() / "other-ca";
        REQUIRE(run({"/bin/bash", (scripts_dir() / "make-cluster-ca").string(), "--ca-dir",
                     other.string(), "--name", "other"})
                    .code == 0);
        REQUIRE(run({"/bin/bash", (scripts_dir() / "revoke-host").string(), "--ca-dir",
                     other.string(), "--refresh"})
                    .code == 0);
        std::filesystem::copy_file(other / "loncapaCRL.pem", crl);
        auto r = run({lond_bin().string(), "--config", c.config(0).string(), "--foreground"}, 5s);
        CHECK(r.code == 3);
        CHECK(r.output.find(crl.string() + " is not signed by the cluster CA") !=
              std::string::npos);
    }
    SECTION("our own certificate revoked: no start, not even insecure") {
        revoke(c, 0);
        install_crl(c, 0);
        auto r = run({lonc_bin().string(), "--config", c.config(0).string(), "--foreground"}, 5s);
        CHECK(r.code == 3);
        CHECK(r.output.find("our own certificate " + (c.dir(0) / "certs" / "lonhostcert.pem").string() +
                            " is revoked by " + crl.string()) != std::string::npos);
    }
    SECTION("a bad CRL on HUP keeps the old set") {
        REQUIRE(run({"/bin/bash", (scripts_dir() / "revoke-host").string(), "--ca-dir",
                     c.ca_dir().string(), "--refresh"})
                    .code == 0);
        install_crl(c, 0);
        c.start_all();
        REQUIRE(c.request(1, 0, "ping") == c.id(0));
        std::ofstream(crl) << "not a CRL\n";
        c.reload(0);
        CHECK(wait_until(5s, [&] {
            return log_has(c, 0, "lond",
                           "reload refused, keeping the previous configuration and credentials: " +
                               crl.string() + " holds no CRL");
        }));
        c.stop_lonc(1);
        c.start_lonc(1);
        CHECK(c.request(1, 0, "ping") == c.id(0));
    }
}

TEST_CASE("tls messages: a key that does not match the certificate", "[integration][tls_messages]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    auto key = c.dir(0) / "certs" / "lonhostkey.pem";
    auto cert = c.dir(0) / "certs" / "lonhostcert.pem";
    std::filesystem::remove(key);
    REQUIRE(run({"/bin/bash", "-c",
                 "umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "
                 "\"$1\"",
                 "_", key.string()})
                .code == 0);
    auto r = run({lond_bin().string(), "--config", c.config(0).string(), "--foreground"}, 5s);
    CHECK(r.code == 3);
    CHECK(r.output.find(key.string() + " does not match the certificate " + cert.string()) !=
          std::string::npos);
    CHECK(r.output.find("error:") == std::string::npos);
}

TEST_CASE("tls messages: an empty CA file", "[integration][tls_messages]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    auto ca = c.dir(0) / "certs" / "loncapaCA.pem";
    std::ofstream(ca, std::ios::trunc).close();
    auto r = run({lonc_bin().string(), "--config", c.config(0).string(), "--foreground"}, 5s);
    CHECK(r.code == 3);
    CHECK(r.output.find(ca.string() + " holds no certificate") != std::string::npos);
    CHECK(r.output.find("unknown OpenSSL error") == std::string::npos);
}

TEST_CASE("tls messages: an expired certificate with insecure disallowed",
          "[integration][tls_messages]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    auto cert = c.dir(0) / "certs" / "lonhostcert.pem";
    // Re-sign host 0's request with dates in the past (openssl ca can set them).
    auto r0 = run({"/bin/bash", "-c", R"(set -e
        d=$(mktemp -d); trap 'rm -rf "$d"' EXIT; : >"$d/index.txt"; echo 1000 >"$d/serial"
        printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s\nnew_certs_dir=%s\nserial=%s\ndefault_md=sha256\npolicy=p\ncopy_extensions=none\nx509_extensions=x\n[p]\ncommonName=supplied\n[x]\nsubjectAltName=URI:lonhost:%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
            "$d/index.txt" "$d" "$d/serial" "$4" >"$d/ca.cnf"
        openssl ca -batch -config "$d/ca.cnf" -cert "$1/ca.pem" -keyfile "$1/ca.key" -in "$2" \
            -startdate 20200101000000Z -enddate 20200201000000Z -out "$3" -notext 2>/dev/null)",
                   "_", c.ca_dir().string(), (c.dir(0) / "certs" / "lonhost.csr").string(),
                   cert.string(), c.id(0)});
    REQUIRE(r0.code == 0);
    SECTION("lond") {
        std::ofstream(c.config(0), std::ios::app) << "lond: { allow_insecure: false }\n";
        auto r = run({lond_bin().string(), "--config", c.config(0).string(), "--foreground"}, 5s);
        CHECK(r.code == 3);
        CHECK(r.output.find(cert.string() + " expired on 2020-02-01") != std::string::npos);
        CHECK(r.output.find("lond.allow_insecure is false") != std::string::npos);
    }
    SECTION("lonc") {
        std::string text = read_file(c.config(0));
        auto at = text.find("max_connections: 3 }");
        REQUIRE(at != std::string::npos);
        text.replace(at, 20, "max_connections: 3, allow_insecure: false }");
        std::ofstream(c.config(0)) << text;
        auto r = run({lonc_bin().string(), "--config", c.config(0).string(), "--foreground"}, 5s);
        CHECK(r.code == 3);
        CHECK(r.output.find(cert.string() + " expired on 2020-02-01") != std::string::npos);
        CHECK(r.output.find("lonc.allow_insecure is false") != std::string::npos);
    }
}

TEST_CASE("tls messages: a key that is a symbolic link is refused (opened without following)",
          "[integration][tls_messages]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    auto key = c.dir(0) / "certs" / "lonhostkey.pem";
    auto elsewhere = c.dir(0) / "key-elsewhere.pem";
    std::filesystem::rename(key, elsewhere);
    std::filesystem::create_symlink(elsewhere, key);
    auto r = run({lond_bin().string(), "--config", c.config(0).string(), "--foreground"}, 5s);
    CHECK(r.code == 3);
    CHECK(r.output.find(key.string() + " is a symbolic link; refusing to use it") !=
          std::string::npos);
}
