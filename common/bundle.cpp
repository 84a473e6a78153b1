#include "bundle.hpp"

#include <charconv>
#include <vector>

namespace lon {
namespace {

// Format: the magic line, then one record per field in a fixed order:
// "<name> <length>\n<length bytes>\n". Lengths make any byte (NUL, newline) safe.
constexpr std::string_view magic = "lonlink-bundle 1\n";

void put(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ' ';
    out += std::to_string(value.size());
    out += '\n';
    out += value;
    out += '\n';
}

/// Takes the record `name` off the front of `in`; false if it is not there.
bool take(std::string_view& in, std::string_view name, std::string& value) {
    if (in.substr(0, name.size()) != name || in.size() <= name.size() || in[name.size()] != ' ') {
        return false;
    }
    in.remove_prefix(name.size() + 1);
    std::size_t eol = in.find('\n');
    if (eol == std::string_view::npos) {
        return false;
    }
    std::size_t len = 0;
    auto [p, ec] = std::from_chars(in.data(), in.data() + eol, len);
    if (ec != std::errc{} || p != in.data() + eol || eol == 0) {
        return false;
    }
    in.remove_prefix(eol + 1);
    if (len >= in.size() || in[len] != '\n') {
        return false;
    }
    value.assign(in.substr(0, len));
    in.remove_prefix(len + 1);
    return true;
}

} // namespace

std::string serialize_bundle(const Bundle& b) {
    std::string out(magic);
    put(out, "config_file", b.config_file.native());
    put(out, "config", b.config.config_text);
    put(out, "hosts", b.config.hosts_text);
    put(out, "tls_present", b.tls.present ? "1" : "0");
    put(out, "tls_absent_reason", b.tls.absent_reason);
    put(out, "ca", b.tls.ca);
    put(out, "cert", b.tls.cert);
    put(out, "key", b.tls.key);
    put(out, "passphrase", b.tls.passphrase);
    put(out, "crl", b.tls.crl);
    return out;
}

std::optional<Bundle> parse_bundle(std::string_view in, std::string& error) {
    if (in.substr(0, magic.size()) != magic) {
        error = "not a lonlink bundle";
        return std::nullopt;
    }
    in.remove_prefix(magic.size());
    Bundle b;
    std::string file;
    std::string present;
    bool ok = take(in, "config_file", file) && take(in, "config", b.config.config_text) &&
              take(in, "hosts", b.config.hosts_text) && take(in, "tls_present", present) &&
              take(in, "tls_absent_reason", b.tls.absent_reason) && take(in, "ca", b.tls.ca) &&
              take(in, "cert", b.tls.cert) && take(in, "key", b.tls.key) &&
              take(in, "passphrase", b.tls.passphrase) && take(in, "crl", b.tls.crl);
    if (!ok || !in.empty() || (present != "0" && present != "1") || file.empty() ||
        file.front() != '/') {
        error = "malformed lonlink bundle";
        return std::nullopt;
    }
    b.config_file = file;
    b.tls.present = present == "1";
    return b;
}

} // namespace lon
