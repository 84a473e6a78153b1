#pragma once

// What keeps a test run from leaking into the machine or into another run, even when it is
// cut short (meson's timeout sends SIGTERM, a developer presses ^C):
// - this process is the subreaper of everything it starts, so daemons that fork, setsid or
//   lose their parent (loncontrol starts them detached) stay its descendants;
// - on SIGTERM, SIGINT or SIGHUP every descendant is killed and every temporary folder still
//   registered is removed before the process exits with 128 + the signal;
// - each run owns one block of loopback addresses, 127.<b>.x.y with b in 100..199, held
//   with an flock for the life of the process, so two runs never share addresses.

#include <filesystem>

namespace it {

/// Idempotent; the harness calls it before it starts anything.
void install_process_guard();

void register_temp_dir(const std::filesystem::path& dir);
void unregister_temp_dir(const std::filesystem::path& dir);

/// The second octet of this run's loopback block (100..199). Throws when every block is held.
int loopback_block();

} // namespace it
