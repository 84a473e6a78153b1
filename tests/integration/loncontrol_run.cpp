#include "loncontrol_run.hpp"

#include <csignal>

namespace it {

RunResult loncontrol(const std::filesystem::path& config, const std::vector<std::string>& args,
                     const std::filesystem::path& script) {
    std::string bin_dir = lond_bin().parent_path().parent_path().string();
    std::vector<std::string> argv{"/usr/bin/env", "LONLINK_BIN_DIR=" + bin_dir, "/bin/bash",
                                  script.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--config", config.string()});
    return run(argv, 60s);
}

RunResult loncontrol(const Cluster& c, int i, const std::string& command) {
    return loncontrol(c.config(i), {command});
}

PidFileGuard::~PidFileGuard() {
    for (const auto& f : files) {
        if (auto pid = read_pid_file(f); pid && alive(*pid)) {
            auto kids = descendants_of(*pid);
            ::kill(*pid, SIGKILL);
            for (pid_t k : kids) {
                ::kill(k, SIGKILL);
            }
        }
    }
}

void PidFileGuard::add_host(const Cluster& c, int i) {
    files.push_back(c.run_dir(i) / "lonc.pid");
    files.push_back(c.run_dir(i) / "lond.pid");
}

} // namespace it
