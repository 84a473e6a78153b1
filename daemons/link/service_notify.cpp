#include "service_notify.hpp"

#include <ctime>
#include <string>

#if LONLINK_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace lon::link {

void notify_service([[maybe_unused]] const char* state) noexcept {
#if LONLINK_HAVE_SYSTEMD
    // unset_environment = 0: the parent notifies again on reload and stop. Its children are
    // exec'd with NOTIFY_SOCKET still set but never notify (and NotifyAccess=main would
    // ignore them).
    (void)::sd_notify(0, state);
#endif
}

void notify_reloading() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                              static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
    std::string state;
    try {
        state = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
    } catch (...) {
        return; // out of memory: systemd merely misses a state change
    }
    notify_service(state.c_str());
}

} // namespace lon::link
