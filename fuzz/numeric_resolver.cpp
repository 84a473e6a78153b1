// Linked into the config and hosts-table fuzz targets only: getaddrinfo() resolves IP
// literals only (AI_NUMERICHOST), so a fuzzed host name never waits for DNS or touches the
// network; a name then fails to resolve, which the loaders report as a ConfigError.
// Defined in the executable, it takes the place of libc's (and of ASan's interceptor).
#include <dlfcn.h>
#include <netdb.h>

extern "C" int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                           addrinfo** res) {
    using Fn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
    static Fn real = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, "getaddrinfo"));
    if (real == nullptr) {
        return EAI_FAIL;
    }
    addrinfo h{};
    if (hints != nullptr) {
        h = *hints;
    }
    h.ai_flags |= AI_NUMERICHOST;
    return real(node, service, &h, res);
}
