#include "validated_set.hpp"

#include <malloc.h>

#include <stdexcept>
#include <vector>

#include "sealed_memfd.hpp"

namespace lon::link {

ValidatedSet read_config_set(const std::filesystem::path& config_file) {
    ValidatedSet set;
    set.config = load_config(config_file, &set.bundle.config);
    set.bundle.config_file = set.config.file;
    return set;
}

void return_freed_heap() {
    ::malloc_trim(0);
}

std::string read_credentials(ValidatedSet& set) {
    std::string error;
    set.bundle.tls = read_tls_files(set.config, error);
    if (!error.empty()) {
        return error;
    }
    set.tls = load_tls_credentials(set.config, set.bundle.tls);
    return set.tls.error;
}

ValidatedSet load_bundle(Bundle bundle, TlsContexts which) {
    ValidatedSet set;
    set.config = load_config_from(bundle.config_file, bundle.config);
    set.tls = load_tls_credentials(set.config, bundle.tls, which);
    if (!set.tls.error.empty()) {
        throw std::runtime_error(set.tls.error);
    }
    set.bundle = std::move(bundle);
    return set;
}

UniqueFd seal_bundle(const Bundle& bundle, std::error_code& ec) {
    return make_sealed_memfd("lonlink-bundle", serialize_bundle(bundle), ec);
}

Bundle bundle_for_peer(const Bundle& full, const Config& config, std::string_view peer) {
    Bundle b;
    b.config_file = full.config_file;
    b.config.config_text = full.config.config_text;
    b.tls = full.tls;
    std::vector<const Host*> hosts{&config.self()};
    if (const Host* p = config.hosts.find(peer); p != nullptr && p->id != config.host_id) {
        hosts.push_back(p);
    }
    b.config.hosts_text = render_host_table(config.hosts_file, hosts);
    return b;
}

UniqueFd seal_bundle_for_peer(const Bundle& full, const Config& config, std::string_view peer,
                              std::error_code& ec) {
    return seal_bundle(bundle_for_peer(full, config, peer), ec);
}

Bundle keep_for_children(Bundle bundle) {
    bundle.config.hosts_text.clear();
    bundle.config.hosts_text.shrink_to_fit();
    return bundle;
}

Bundle read_bundle(int fd) {
    std::error_code ec;
    std::string bytes = read_sealed_memfd(fd, max_bundle_bytes, ec);
    if (ec) {
        throw std::runtime_error("cannot read the configuration handed over by the parent: " +
                                 ec.message());
    }
    std::string error;
    auto bundle = parse_bundle(bytes, error);
    if (!bundle) {
        throw std::runtime_error("configuration handed over by the parent: " + error);
    }
    return std::move(*bundle);
}

} // namespace lon::link
