#pragma once

// Integration harness: real lond/lonc processes on private loopback addresses, in a temporary
// folder, cleaned up by pid. Every wait has a deadline; nothing sleeps blindly.
//
// Addresses: host i of a cluster is 127.<A>.<B>.<11+i>, A a block in 100..199 that this test
// process holds a lock on (so test processes run side by side never meet), B fresh for every
// Cluster (so every test case gets addresses of its own); never the demo's 127.0.0.x. All
// hosts listen on port 5663.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/types.h>

#include "unique_fd.hpp"

namespace it {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// The port every lond of a test cluster listens on.
inline constexpr unsigned short lon_port = 5663;

/// Polls `pred` every 20 ms until it holds or `deadline` passes; returns its last value.
bool wait_until(Clock::time_point deadline, const std::function<bool()>& pred);
/// Same, with a deadline `timeout` from now.
bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& pred);

std::filesystem::path lond_bin();
std::filesystem::path lonc_bin();
std::filesystem::path lonreply_bin();
std::filesystem::path scripts_dir();

std::string read_file(const std::filesystem::path& path);
/// The process title as ps shows it: /proc/<pid>/cmdline with NULs as spaces, trailing
/// NULs and spaces removed ("" when the process is gone).
std::string read_title(pid_t pid);
/// Polls the title of the process `find()` names (looked up again each time, -1: none)
/// until it equals `expected` or `timeout` passes; returns the last title seen, so a
/// CHECK(await_title(...) == expected) shows what was there instead.
std::string await_title(const std::function<pid_t()>& find, const std::string& expected,
                        std::chrono::milliseconds timeout = 5s);
std::string await_title(pid_t pid, const std::string& expected,
                        std::chrono::milliseconds timeout = 5s);
/// Same, until `pred(title)` holds.
std::string await_title_if(const std::function<pid_t()>& find,
                           const std::function<bool(const std::string&)>& pred,
                           std::chrono::milliseconds timeout = 5s);
/// Live processes whose parent (/proc/<pid>/stat ppid) is `pid`.
std::vector<pid_t> children_of(pid_t pid);
/// Children, grandchildren, … of `pid` (live ones).
std::vector<pid_t> descendants_of(pid_t pid);
/// A field of /proc/<pid>/status in kB (e.g. "VmRSS"), or -1 when absent or gone.
long proc_status_kb(pid_t pid, const std::string& field);
/// Private_Clean + Private_Dirty of `pid` (/proc/<pid>/smaps_rollup), in kB; -1 if gone.
long private_kb(pid_t pid);

/// How many entries the folder `dir` holds (0 when it does not exist).
std::size_t files_in(const std::filesystem::path& dir);
/// CPU seconds (user + system) the process has used so far; -1 when it is gone.
double cpu_seconds(pid_t pid);
/// Times the process has been scheduled off the CPU so far, all its threads together
/// (voluntary_ctxt_switches + nonvoluntary_ctxt_switches of /proc/<pid>/task/*/status): each
/// wakeup of an idle process costs one. -1 when it is gone.
long long context_switches(pid_t pid);
/// The libfaketime preload library (Debian package libfaketime; scripts/deps.sh installs
/// it), or an empty path when it is not installed.
std::filesystem::path libfaketime();
/// A daemon command-line prefix (Cluster::start_lond(i, prefix)): the daemon's wall clock
/// follows `clock_file` (an offset such as "+0d" or "+1000d", read at every call); its
/// monotonic clock stays real.
std::vector<std::string> faked_clock(const std::filesystem::path& clock_file);
/// True when the daemons under test are built with ASan/UBSan (LONLINK_SANITIZED set by
/// scripts/test --sanitize): their resident memory says nothing about ours then, so memory
/// bounds are checked in the normal build only.
bool sanitized_build();
/// True while `pid` exists and is not a zombie.
bool alive(pid_t pid);
/// The pid written in a pid file (first line), or nullopt when absent or not a number.
std::optional<pid_t> read_pid_file(const std::filesystem::path& path);
/// True when some line of the file contains every one of `parts`.
bool file_has_line_with(const std::filesystem::path& path, const std::vector<std::string>& parts);

/// The top-level members of a one-line JSON object, each key mapped to its raw value text
/// (strings keep their quotes, e.g. "\"linked\"", numbers as written, null as "null").
/// nullopt when the text is not one well-formed JSON object.
std::optional<std::map<std::string, std::string>> parse_json_object(std::string_view text);

using JsonObject = std::map<std::string, std::string>;
/// Polls the status file `path` (a child rewrites it at most once a second, the first a
/// second after it starts) until it parses and every `want` member has its raw value text
/// (e.g. {"state", "\"linked\""}), or `timeout` passes; returns the object read last
/// (nullopt when none parsed), so CHECKs on it show what was there instead.
std::optional<JsonObject> await_status(const std::filesystem::path& path,
                                       const std::vector<std::pair<std::string, std::string>>& want,
                                       std::chrono::milliseconds timeout = 5s);

/// The titles of DESIGN.md's table, exactly.
namespace title {
std::string lonc_parent(const std::string& own_id, int links);
std::string lonc_connecting(const std::string& peer, int retries);
std::string lonc_linked(const std::string& peer, int connections, int retries,
                        const std::string& mode = "insecure");
/// "lonc: <peer> >>> DEAD !!!! <<< next probe in " (followed by "<s>s").
std::string lonc_dead_prefix(const std::string& peer);
/// True when `t` is the DEAD title for `peer` with a whole number of seconds.
bool is_lonc_dead(const std::string& t, const std::string& peer);
std::string lond_parent(const std::string& own_id, const std::string& address, int peers);
std::string lond_child(const std::string& peer, int connections,
                       const std::string& mode = "insecure");
} // namespace title

/// A child process we started (fork+exec, stdin from /dev/null, stdout and stderr to files);
/// stopped and reaped on destruction.
class Process {
  public:
    Process() = default;
    /// Both stdout and stderr go to `output`.
    Process(const std::vector<std::string>& argv, const std::filesystem::path& output);
    /// stdout to `out`, stderr to `err`.
    Process(const std::vector<std::string>& argv, const std::filesystem::path& out,
            const std::filesystem::path& err);
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    ~Process();

    [[nodiscard]] pid_t pid() const { return pid_; }
    /// Waits for the exit; returns the exit code (128+signal), or nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    /// TERM only, then waits up to `timeout` for the exit; returns the exit code (nullopt:
    /// still running). Kills nothing: for tests of the clean stop itself.
    std::optional<int> terminate(std::chrono::milliseconds timeout = 10s);
    /// TERM, wait (bounded), then KILL it and any descendant it left behind.
    void stop();

  private:
    /// Records the live descendants (pid and start time) so they can be killed later.
    void note_descendants();
    void kill_noted();

    pid_t pid_ = -1;
    std::optional<int> status_;
    std::vector<std::pair<pid_t, long long>> noted_;
};

/// A command run to completion (bounded): exit code (-1 on timeout), stdout, stderr, and
/// both together (stdout then stderr).
struct RunResult {
    int code = -1;
    std::string out;
    std::string err;
    std::string output;
};
RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 20s);

/// A private temporary folder (mkdtemp under /tmp), removed with its contents.
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
    /// Sends one request line and reads its reply ("<timeout>" when none came).
    std::string request(const std::string& line, std::chrono::milliseconds timeout = 10s);
    void close() { fd_.reset(); }

  private:
    lon::UniqueFd fd_;
    std::string in_;
};

/// A raw TCP client bound to a chosen source address before connecting (plays a peer or a
/// stranger for lond).
class RawTcpClient {
  public:
    RawTcpClient(const std::string& source_ip, const std::string& dest_ip,
                 unsigned short port = lon_port);
    [[nodiscard]] bool connected() const { return connected_; }
    void send(const std::string& bytes);
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = 5s);
    [[nodiscard]] int fd() const { return fd_.get(); }
    /// True once the server closed the connection (EOF or reset) within `timeout`; bytes
    /// read meanwhile are kept for read_line.
    bool closed_by_peer(std::chrono::milliseconds timeout = 5s);

  private:
    lon::UniqueFd fd_;
    bool connected_ = false;
    std::string in_;
};
using TcpClient = RawTcpClient;

/// The lonc section of every host's config (DESIGN.md "Configuration"; durations in
/// ms/s/m/h).
struct LoncOptions {
    int retries = 3;
    std::string backoff_initial = "100ms";
    std::string backoff_max = "1s";
    std::string stable_after = "1s";
    std::string idle_timeout = "30s";
    std::string request_timeout = "5s";
    std::string keepalive = "30s";
    int max_connections = 3;
    [[nodiscard]] std::string yaml() const;
};

/// The limits section of every host's config.
struct LimitsOptions {
    std::string handshake_timeout = "2s";
    std::string max_message_bytes; ///< empty: the daemon's default
    [[nodiscard]] std::string yaml() const;
};

struct ClusterOptions {
    int hosts = 3;
    LoncOptions lonc;
    LimitsOptions limits;
    std::string lonc_yaml;   ///< when set, replaces lonc.yaml() verbatim
    std::string limits_yaml; ///< when set, replaces limits.yaml() verbatim
    std::string extra_yaml;  ///< appended to every host's config
    /// socket_dir, relative to a host's folder ("run/sockets": inside run_dir).
    std::string socket_subdir = "sockets";
    /// When set, every host's lond / lonc is started from this file instead of lond_bin() /
    /// lonc_bin() (e.g. a copy that the test then replaces, as an upgrade does).
    std::filesystem::path lond_binary;
    std::filesystem::path lonc_binary;
};

/// Default options for an `n`-host cluster.
inline ClusterOptions hosts(int n) {
    ClusterOptions o;
    o.hosts = n;
    return o;
}

/// One host of a cluster: its id, address and files.
struct Host {
    int index = 0;
    std::string id;
    std::string address;
    std::filesystem::path dir;    ///< the host's own temp subfolder
    std::filesystem::path config; ///< dir/lonlink.yaml (absolute)
};

/// N hosts, each on its own 127.x.y.z address, port 5663, each with its own folder under
/// one temporary folder, sharing one hosts.yaml. Daemons run with --foreground as our
/// children; the destructor stops them by pid.
class Cluster {
  public:
    explicit Cluster(ClusterOptions options = {});
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;
    ~Cluster();

    [[nodiscard]] int size() const { return options_.hosts; }
    [[nodiscard]] Host host(int i) const;
    [[nodiscard]] std::string id(int i) const;
    [[nodiscard]] std::string address(int i) const;
    /// An address in the cluster's range that belongs to no host.
    [[nodiscard]] std::string stranger_address() const;
    [[nodiscard]] std::filesystem::path dir(int i) const;
    [[nodiscard]] std::filesystem::path config(int i) const;
    [[nodiscard]] std::filesystem::path socket(int from, int to) const;
    [[nodiscard]] std::filesystem::path run_dir(int i) const { return dir(i) / "run"; }
    [[nodiscard]] std::filesystem::path log_file(int i, const char* daemon) const;
    /// The daemon's stdout/stderr capture (dir/<daemon>.out).
    [[nodiscard]] std::filesystem::path output_file(int i, const char* daemon) const;

    /// Starts the daemon with --foreground and waits (bounded) until its pid file holds its
    /// pid; throws with its output when it exits or does not get ready.
    void start_lond(int i);
    /// Same, with `prefix` run in front of the daemon's command line (e.g. {"prlimit",
    /// "--nofile=256"}, paths absolute: execv); the prefix must exec the daemon, so the pid
    /// is the daemon's.
    void start_lond(int i, const std::vector<std::string>& prefix);
    void start_lonc(int i);
    /// The same, run through `prefix` (e.g. {"/usr/bin/prlimit", "--nofile=64", "--"}); the
    /// prefix must exec the daemon in place (same pid).
    void start_lonc(int i, const std::vector<std::string>& prefix);
    void start_all();
    void stop_lond(int i);
    void stop_lonc(int i);
    /// TERM only (see Process::terminate): the exit code, or nullopt if it did not exit.
    std::optional<int> terminate_lond(int i, std::chrono::milliseconds timeout = 10s);
    std::optional<int> terminate_lonc(int i, std::chrono::milliseconds timeout = 10s);
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
    /// `days`: the certificate's validity (0: sign-response's default).
    /// Throws with the scripts' output when a step fails.
    void issue_certificate(int i, const std::string& ca = "ca", int days = 0);
    [[nodiscard]] std::filesystem::path ca_dir(const std::string& ca = "ca") const;
    [[nodiscard]] std::filesystem::path root() const { return tmp_.path(); }
    /// HUP both daemons of host i (loncontrol reload).
    void reload(int i);
    /// Replaces the first `from` in host `i`'s config with `to`; throws when it is not there.
    void edit_config(int i, const std::string& from, const std::string& to) const;

    /// One request on a fresh local connection; the reply line (or "<timeout>").
    std::string request(int from, int to, const std::string& line,
                        std::chrono::milliseconds timeout = 10s) const;
    /// The same request through lonreply on host `from`.
    RunResult lonreply(int from, int to, const std::string& line) const;

  private:
    void start_daemon(int i, const char* name, const std::vector<std::string>& prefix = {});

    ClusterOptions options_;
    TempDir tmp_;
    std::string net_;
    std::vector<Process> lond_;
    std::vector<Process> lonc_;
};

} // namespace it
