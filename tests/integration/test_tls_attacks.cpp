// Independent TLS clients (plain OpenSSL, not the project's link code) with forged or wrong
// certificates against a real lond: every one is refused, none gets an answer.

#include <catch2/catch.hpp>

#include <ctime>

#include "harness.hpp"
#include "tls_client.hpp"

using namespace it;

namespace {

/// A 2-host cluster where both hosts have certificates from the cluster CA, linked ssl once.
struct TlsCluster {
    Cluster c{hosts(2)};
    std::filesystem::path forged;
    TlsCluster() {
        c.issue_certificate(0);
        c.issue_certificate(1);
        c.start_all();
        forged = c.root() / "forged";
        std::filesystem::create_directories(forged);
    }
    TlsAttempt as_host0(const std::filesystem::path& cert, const std::filesystem::path& key) const {
        TlsAttempt a;
        a.source_ip = c.address(0);
        a.dest_ip = c.address(1);
        a.client_id = c.id(0);
        a.server_id = c.id(1);
        a.cert = cert;
        a.key = key;
        a.ca = c.ca_dir() / "ca.pem";
        return a;
    }
};

} // namespace

TEST_CASE("tls attacks: the genuine certificate works from an independent client",
          "[integration][tls]") {
    TlsCluster t;
    auto certs = t.c.dir(0) / "certs";
    // Control case: host 0's real certificate and key, so a refusal below means the forgery
    // was caught, not that the client is broken.
    CHECK(tls_attempt(t.as_host0(certs / "lonhostcert.pem", certs / "lonhostkey.pem")) ==
          "reply:1 " + t.c.id(1)); // tag 1, then the reply
}

TEST_CASE("tls attacks: forged and wrong certificates are refused", "[integration][tls]") {
    TlsCluster t;
    make_rogue_ca(t.forged / "rogue");
    // The right name from the wrong CA.
    forge_certificate(t.forged / "rogue", t.forged, "rogue", t.c.id(0), "20240101000000Z",
                      "20991231000000Z");
    // The cluster CA's own signature, but for another host id.
    forge_certificate(t.c.ca_dir(), t.forged, "otherid", t.c.id(1), "20240101000000Z",
                      "20991231000000Z");
    // The cluster CA, the right id, but expired.
    forge_certificate(t.c.ca_dir(), t.forged, "expired", t.c.id(0), "20200101000000Z",
                      "20210101000000Z");
    // The cluster CA, but the name in the certificate and the one in its SAN disagree.
    forge_certificate(t.c.ca_dir(), t.forged, "san_other", t.c.id(0), "20240101000000Z",
                      "20991231000000Z", "intruder");
    forge_certificate(t.c.ca_dir(), t.forged, "cn_other", "intruder", "20240101000000Z",
                      "20991231000000Z", t.c.id(0));
    // Each forgery is refused for its own reason: the server ends the connection after the
    // handshake (TLS 1.3 sends its verdict on the client certificate then) and logs why.
    const std::pair<const char*, std::string> forgeries[] = {
        {"rogue", "unable to get local issuer certificate"},
        {"otherid", "peer certificate is for '" + t.c.id(1) + "', expected '" + t.c.id(0) + "'"},
        {"expired", "certificate has expired"},
        {"san_other", "peer certificate lacks subjectAltName URI:lonhost:" + t.c.id(0)},
        {"cn_other", "peer certificate is for 'intruder', expected '" + t.c.id(0) + "'"},
    };
    for (const auto& [name, reason] : forgeries) {
        INFO(name);
        const auto before = read_file(t.c.log_file(1, "lond")).size();
        auto result = tls_attempt(t.as_host0(t.forged / (std::string(name) + ".pem"),
                                             t.forged / (std::string(name) + ".key")));
        CHECK(result == "closed");
        CHECK(wait_until(5s, [&, &reason = reason] {
            return read_file(t.c.log_file(1, "lond")).find(reason, before) != std::string::npos;
        }));
    }
    // The genuine link still works.
    CHECK(t.c.request(0, 1, "ping") == t.c.id(1));
}

TEST_CASE("tls attacks: plaintext injected after the init line is refused",
          "[integration][tls]") {
    TlsCluster t;
    auto certs = t.c.dir(0) / "certs";
    auto a = t.as_host0(certs / "lonhostcert.pem", certs / "lonhostkey.pem");
    a.extra_plaintext = "1 ping\n";
    CHECK(tls_attempt(a) == "refused:extra_data");
}

TEST_CASE("tls attacks: a client without a certificate gets no TLS link", "[integration][tls]") {
    TlsCluster t;
    auto a = t.as_host0("", "");
    const auto before = read_file(t.c.log_file(1, "lond")).size();
    CHECK(tls_attempt(a) == "closed");
    CHECK(wait_until(5s, [&] {
        return read_file(t.c.log_file(1, "lond")).find("did not return a certificate", before) !=
               std::string::npos;
    }));
    // The genuine link still works.
    CHECK(t.c.request(0, 1, "ping") == t.c.id(1));
}

TEST_CASE("tls: a peer certificate that expires while linked does not stay in use",
          "[integration][tls]") {
    Cluster c(hosts(2));
    c.issue_certificate(0);
    c.issue_certificate(1);
    // Replace host 1's certificate by one from the cluster CA that expires in a few seconds.
    auto soon = std::time(nullptr) + 12;
    char end[32];
    std::strftime(end, sizeof end, "%Y%m%d%H%M%SZ", std::gmtime(&soon));
    auto certs = c.dir(1) / "certs";
    forge_certificate(c.ca_dir(), c.root() / "forged", "short", c.id(1), "20240101000000Z", end);
    std::filesystem::copy_file(c.root() / "forged" / "short.pem", certs / "lonhostcert.pem",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(c.root() / "forged" / "short.key", certs / "lonhostkey.pem",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::permissions(certs / "lonhostkey.pem", std::filesystem::perms::owner_read |
                                                               std::filesystem::perms::owner_write);
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(wait_until(5s, [&] { return read_title(child).find("(ssl)") != std::string::npos; }));
    // Once it has expired, host 0 drops the link; host 1 has no usable certificate left and
    // host 0 is pinned, so nothing links again, in ssl or otherwise.
    CHECK(wait_until(25s, [&] {
        return read_file(c.log_file(0, "lonc")).find(c.id(1) + "'s certificate has expired") !=
               std::string::npos;
    }));
    CHECK(wait_until(5s, [&] { return read_title(child).find("Connection count") == std::string::npos; }));
    CHECK(c.request(0, 1, "ping") == "con_lost");
    CHECK(read_title(child).find("(insecure)") == std::string::npos);
}
