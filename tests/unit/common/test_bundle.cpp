#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bundle.hpp"
#include "sealed_memfd.hpp"
#include "temp_dir.hpp"

namespace {

lon::Bundle sample() {
    lon::Bundle b;
    b.config_file = "/etc/lonlink/lonlink.yaml";
    b.config.config_text = "host_id: msul1\nhosts_file: hosts.yaml\n";
    b.config.hosts_text = "hosts:\n  - { id: msul1, address: 127.0.0.11 }\n";
    b.tls.present = true;
    b.tls.ca = "CA\n";
    b.tls.cert = std::string("cert with a NUL \0 and\nnewlines\n", 31);
    b.tls.key = "key";
    b.tls.passphrase = "";
    return b;
}

} // namespace

TEST_CASE("Bundle: every field survives serialisation, any byte included", "[common][bundle]") {
    lon::Bundle b = sample();
    std::string error;
    auto back = lon::parse_bundle(lon::serialize_bundle(b), error);
    REQUIRE(back);
    CHECK(back->config_file == b.config_file);
    CHECK(back->config.config_text == b.config.config_text);
    CHECK(back->config.hosts_text == b.config.hosts_text);
    CHECK(back->tls.present);
    CHECK(back->tls.ca == b.tls.ca);
    CHECK(back->tls.cert == b.tls.cert);
    CHECK(back->tls.key == b.tls.key);
    CHECK(back->tls.passphrase.empty());
    b.tls = {};
    b.tls.absent_reason = "no lonhostcert.pem in /x";
    back = lon::parse_bundle(lon::serialize_bundle(b), error);
    REQUIRE(back);
    CHECK_FALSE(back->tls.present);
    CHECK(back->tls.absent_reason == b.tls.absent_reason);
}

TEST_CASE("Bundle: truncated, extended or foreign bytes are refused", "[common][bundle]") {
    std::string bytes = lon::serialize_bundle(sample());
    std::string error;
    for (std::size_t cut : {std::size_t{0}, std::size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
        INFO("cut at " << cut);
        CHECK_FALSE(lon::parse_bundle(bytes.substr(0, cut), error));
    }
    CHECK_FALSE(lon::parse_bundle(bytes + "x", error));
    CHECK_FALSE(lon::parse_bundle("host_id: msul1\n", error));
    CHECK(error == "not a lonlink bundle");
}

TEST_CASE("Sealed memfd: holds the bytes, cannot be changed, unsealed files are refused",
          "[common][bundle]") {
    std::error_code ec;
    std::string bytes = lon::serialize_bundle(sample());
    lon::UniqueFd fd = lon::make_sealed_memfd("test", bytes, ec);
    REQUIRE(fd);
    CHECK(::write(fd.get(), "x", 1) < 0);           // F_SEAL_WRITE
    CHECK(::ftruncate(fd.get(), 1) != 0);            // F_SEAL_SHRINK
    CHECK(::fcntl(fd.get(), F_ADD_SEALS, 0) != 0);   // F_SEAL_SEAL
    CHECK((::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
    ::lseek(fd.get(), 7, SEEK_SET); // another holder moved the shared offset
    CHECK(lon::read_sealed_memfd(fd.get(), lon::max_bundle_bytes, ec) == bytes);
    CHECK_FALSE(ec);
    CHECK(lon::read_sealed_memfd(fd.get(), 10, ec).empty());
    CHECK(ec == std::errc::file_too_large);

    lon::UniqueFd open(::memfd_create("unsealed", MFD_CLOEXEC));
    REQUIRE(open);
    CHECK(::write(open.get(), "abc", 3) == 3);
    CHECK(lon::read_sealed_memfd(open.get(), lon::max_bundle_bytes, ec).empty());
    CHECK(ec == std::errc::operation_not_permitted);
}

TEST_CASE("Config: load_config_from parses the kept bytes, never the disk", "[common][bundle]") {
    TempDir dir;
    dir.write("hosts.yaml", "hosts:\n  - { id: msul1, address: 127.0.0.11 }\n"
                            "  - { id: msul2, address: 127.0.0.12 }\n");
    auto file = dir.write("lonlink.yaml", "host_id: msul1\nhosts_file: hosts.yaml\n"
                                          "lonc: { retries: 7 }\n");
    lon::ConfigSources sources;
    auto first = lon::load_config(file, &sources);
    // The files change (or break) on disk afterwards: the kept bytes still give the same set.
    dir.write("lonlink.yaml", "lonc: [broken\n");
    dir.write("hosts.yaml", "hosts: []\n");
    auto again = lon::load_config_from(file, sources);
    CHECK(again.lonc.retries == 7);
    CHECK(again.hosts.find("msul2") != nullptr);
    CHECK(again.paths.cert_dir == dir.path() / "certs"); // relative to the config's folder
    // Errors still name the file and the line.
    sources.config_text = "host_id: msul1\nhosts_file: hosts.yaml\nlonc: { retries: x }\n";
    CHECK(config_error(dir, [&] { (void)lon::load_config_from(file, sources); }) ==
          "DIR/lonlink.yaml:3: lonc.retries: expected an integer, got \"x\"");
    CHECK_FALSE(config_error(dir, [&] { (void)lon::load_config(file); }).empty());
}
