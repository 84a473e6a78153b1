#pragma once

namespace lon::link {

/// Tells the service manager a state change of this daemon (systemd's sd_notify: "READY=1",
/// "RELOADING=1", "STOPPING=1", optionally with "STATUS=..." lines). Only the parents call
/// it (the units say NotifyAccess=main). A no-op when the process was not started by systemd
/// with Type=notify (no $NOTIFY_SOCKET). Never throws; a failure to notify is ignored
/// (systemd then times the start out and says so). No libsystemd: the protocol is spoken
/// directly (service_notify.cpp).
void notify_service(const char* state) noexcept;

/// notify_service("RELOADING=1") with the MONOTONIC_USEC= timestamp systemd wants with it.
void notify_reloading() noexcept;

} // namespace lon::link
