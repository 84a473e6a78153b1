// Running scripts/loncontrol from the tests, and cleaning up what it daemonized.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness.hpp"

namespace it {

/// `loncontrol ARGS... --config CONFIG` (bounded), with LONLINK_BIN_DIR naming the binaries
/// under test (build/daemons/...) so that it never starts whatever is on PATH.
RunResult loncontrol(const std::filesystem::path& config, const std::vector<std::string>& args,
                     const std::filesystem::path& script = scripts_dir() / "loncontrol");
/// `loncontrol COMMAND --config <host i's config>`.
RunResult loncontrol(const Cluster& c, int i, const std::string& command);

/// Daemons started through loncontrol detach (setsid) and are not our children: this kills
/// what the listed pid files name, and their descendants, when a test ends (by pid, never
/// by name) — also when it failed halfway.
struct PidFileGuard {
    std::vector<std::filesystem::path> files;
    PidFileGuard() = default;
    PidFileGuard(const PidFileGuard&) = delete;
    PidFileGuard& operator=(const PidFileGuard&) = delete;
    ~PidFileGuard();
    /// Both pid files of host i.
    void add_host(const Cluster& c, int i);
};

} // namespace it
