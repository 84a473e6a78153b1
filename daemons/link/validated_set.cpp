#include "validated_set.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "sealed_memfd.hpp"

namespace lon::link {

ValidatedSet read_config_set(const std::filesystem::path& config_file) {
    ValidatedSet set;
    set.config = load_config(config_file, &set.bundle.config);
    set.bundle.config_file = set.config.file;
    return set;
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

ValidatedSet load_bundle(Bundle bundle) {
    ValidatedSet set;
    set.config = load_config_from(bundle.config_file, bundle.config);
    set.tls = load_tls_credentials(set.config, bundle.tls);
    if (!set.tls.error.empty()) {
        throw std::runtime_error(set.tls.error);
    }
    set.bundle = std::move(bundle);
    return set;
}

UniqueFd seal_bundle(const Bundle& bundle, std::error_code& ec) {
    return make_sealed_memfd("lonlink-bundle", serialize_bundle(bundle), ec);
}

bool adopt_bundle_for_children(const Bundle& bundle, UniqueFd& held) {
    std::error_code ec;
    UniqueFd fd = seal_bundle(bundle, ec);
    if (!fd) {
        spdlog::error("cannot seal the configuration for the children: {}", ec.message());
        return false;
    }
    held = std::move(fd);
    return true;
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
