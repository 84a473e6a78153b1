// A cluster CA that is an intermediate (README "Certificate workflow": loncapaCA.pem may hold
// a chain): the CA folder's ca.pem holds the intermediate first, then the root that signed
// it; the project's scripts sign and install with it, and both daemons link in ssl.

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

TEST_CASE("a CA chain with an intermediate: certificates issued by the intermediate, "
          "loncapaCA.pem holding intermediate and root, links in ssl",
          "[integration][ca_chain][tls]") {
    Cluster c(hosts(2));
    const auto root = c.ca_dir("root");
    const auto chain = c.ca_dir("chain");
    const auto scripts = scripts_dir();
    for (const auto& [dir, name] : {std::pair{root, "lonlink test root"},
                                    std::pair{chain, "lonlink test intermediate"}}) {
        auto r = run({"/bin/bash", (scripts / "make-cluster-ca").string(), "--ca-dir",
                      dir.string(), "--name", name});
        REQUIRE(r.code == 0);
    }
    // Re-certify the second CA's key by the root: it becomes an intermediate.
    const std::string script = R"SH(
set -e
root=$1; chain=$2
cat > "$chain/ext.cnf" <<EOT
[ v3_int ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOT
openssl req -new -key "$chain/ca.key" -subj "/CN=lonlink test intermediate" -out "$chain/int.csr"
openssl x509 -req -in "$chain/int.csr" -CA "$root/ca.pem" -CAkey "$root/ca.key" \
    -set_serial 0x$(openssl rand -hex 16) -days 3650 -sha256 \
    -extfile "$chain/ext.cnf" -extensions v3_int -out "$chain/int.pem"
cat "$chain/int.pem" "$root/ca.pem" > "$chain/ca.pem"
openssl verify -CAfile "$root/ca.pem" "$chain/int.pem"
)SH";
    auto made = run({"/bin/bash", "-c", script, "chain-ca", root.string(), chain.string()});
    INFO(made.output);
    REQUIRE(made.code == 0);

    c.issue_certificate(0, "chain");
    c.issue_certificate(1, "chain");
    const std::string installed = read_file(c.dir(0) / "certs" / "loncapaCA.pem");
    CHECK(installed.find(read_file(root / "ca.pem")) != std::string::npos);
    c.start_all();
    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(c.request(1, 0, "ping") == c.id(0));
    const std::string ssl01 = title::lonc_linked(c.id(1), 1, 3, "ssl");
    const std::string ssl10 = title::lonc_linked(c.id(0), 1, 3, "ssl");
    CHECK(await_title(c.lonc_child(0, 1), ssl01) == ssl01);
    CHECK(await_title(c.lonc_child(1, 0), ssl10) == ssl10);
}
