#pragma once

// Integration harness: real lond/lonc processes on private loopback addresses, in a temporary
// folder, cleaned up by pid. Every wait has a deadline; nothing sleeps blindly.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

#include "unique_fd.hpp"

namespace it {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// Polls `pred` every 20 ms until it holds or `timeout` passes; returns its last value.
bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& pred);

std::filesystem::path lond_bin();
std::filesystem::path lonc_bin();
std::filesystem::path lonreply_bin();
std::filesystem::path scripts_dir();

std::string read_file(const std::filesystem::path& path);
/// The process title as ps shows it: /proc/<pid>/cmdline with NULs as spaces, trimmed.
std::string read_title(pid_t pid);
/// Live processes whose parent is `pid`.
std::vector<pid_t> children_of(pid_t pid);
bool alive(pid_t pid);

/// A child process we started (fork+exec); stopped and reaped on destruction.
class Process {
public:
    Process() = default;
    Process(const std::vector<std::string>& argv, const std::filesystem::path& output);
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    ~Process();

    [[nodiscard]] pid_t pid() const { return pid_; }
    /// Waits for the exit; returns the exit code (128+signal), or nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    /// TERM, wait, then KILL (itself and any children it left behind).
    void stop();

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// Runs a command to completion (bounded); returns exit code and combined output.
struct RunResult {
    int code = -1;
    std::string output;
};
RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 20s);

/// A private temporary folder, removed with its contents.
class TempDir {
public:
    TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

/// A line-oriented client on a unix socket (a local application talking to lonc).
class UnixClient {
public:
    explicit UnixClient(const std::filesystem::path& path);
    [[nodiscard]] bool connected() const { return fd_.valid(); }
    void send(const std::string& bytes);
    /// The next line (without '\n'), or nullopt on timeout / EOF.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = 10s);

private:
    lon::UniqueFd fd_;
    std::string in_;
};

/// A raw TCP client bound to a chosen source address (a peer or a stranger for lond).
class TcpClient {
public:
    TcpClient(const std::string& source_ip, const std::string& dest_ip, unsigned short port);
    [[nodiscard]] bool connected() const { return connected_; }
    void send(const std::string& bytes);
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = 5s);
    [[nodiscard]] int fd() const { return fd_.get(); }
    /// True once the server closed the connection (EOF or reset) within `timeout`.
    bool closed_by_peer(std::chrono::milliseconds timeout = 5s);

private:
    lon::UniqueFd fd_;
    bool connected_ = false;
    std::string in_;
};

struct ClusterOptions {
    int hosts = 3;
    std::string lonc_yaml = "{ retries: 3, backoff_initial: 100ms, backoff_max: 1s, stable_after: "
                            "1s, idle_timeout: 30s, request_timeout: 5s, keepalive: 30s, "
                            "max_connections: 3 }";
    std::string limits_yaml = "{ handshake_timeout: 2s }";
    std::string extra_yaml; ///< appended to every host's config
};

/// Default options for an `n`-host cluster.
inline ClusterOptions hosts(int n) {
    ClusterOptions o;
    o.hosts = n;
    return o;
}

/// N hosts, each on its own 127.x.y.z address (x from our pid, y fresh per cluster), port
/// 5663, all under one temporary folder.
class Cluster {
public:
    explicit Cluster(ClusterOptions options = {});
    ~Cluster();

    [[nodiscard]] std::string id(int i) const;
    [[nodiscard]] std::string address(int i) const;
    /// An address in the same range that belongs to no host.
    [[nodiscard]] std::string stranger_address() const;
    [[nodiscard]] std::filesystem::path dir(int i) const;
    [[nodiscard]] std::filesystem::path config(int i) const;
    [[nodiscard]] std::filesystem::path socket(int from, int to) const;
    [[nodiscard]] std::filesystem::path run_dir(int i) const { return dir(i) / "run"; }
    [[nodiscard]] std::filesystem::path log_file(int i, const char* daemon) const;

    void start_lond(int i);
    void start_lonc(int i);
    void start_all();
    void stop_lond(int i);
    void stop_lonc(int i);
    [[nodiscard]] pid_t lond_pid(int i) const { return lond_[static_cast<std::size_t>(i)].pid(); }
    [[nodiscard]] pid_t lonc_pid(int i) const { return lonc_[static_cast<std::size_t>(i)].pid(); }
    /// The lonc child of host `from` serving peer `to` (-1 if none).
    [[nodiscard]] pid_t lonc_child(int from, int to) const;
    /// The lond child of host `at` serving peer `from` (-1 if none).
    [[nodiscard]] pid_t lond_child(int at, int from) const;

    /// The cluster CA (made once with scripts/make-cluster-ca) and a host certificate for
    /// host `i` made the admin's way: request_ssl_key.sh on the host, sign-response on the CA,
    /// then the response script run on the host (which reloads its running daemons).
    /// `ca` names a CA folder under the cluster's temp dir (another name: another CA).
    /// Throws with the scripts' output when a step fails.
    void issue_certificate(int i, const std::string& ca = "ca");
    [[nodiscard]] std::filesystem::path ca_dir(const std::string& ca = "ca") const;
    [[nodiscard]] std::filesystem::path root() const { return tmp_.path(); }
    /// HUP both daemons of host i (loncontrol reload).
    void reload(int i);

    /// One request on a fresh local connection; the reply line (or "<timeout>").
    std::string request(int from, int to, const std::string& line,
                        std::chrono::milliseconds timeout = 10s) const;

private:
    void start_daemon(int i, const char* name);

    ClusterOptions options_;
    TempDir tmp_;
    std::string net_;
    std::vector<Process> lond_;
    std::vector<Process> lonc_;
};

} // namespace it
