#include "harness.hpp"
#include "process_guard.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace it {
namespace {

std::filesystem::path from_env(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return std::filesystem::absolute(
        (v != nullptr && *v != '\0') ? std::filesystem::path(v) : std::filesystem::path(fallback));
}

/// Reads into `buf` until it holds a '\n' or the deadline passes; false on EOF/timeout.
bool read_until_newline(int fd, std::string& buf, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (buf.find('\n') == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        char chunk[65536];
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
}

std::optional<std::string> take_line(std::string& buf) {
    auto nl = buf.find('\n');
    if (nl == std::string::npos) {
        return std::nullopt;
    }
    std::string line = buf.substr(0, nl);
    buf.erase(0, nl + 1);
    return line;
}

/// Writes everything, waiting (bounded) while the socket is full: a pipelined burst can be
/// larger than the socket buffer while the reader is busy answering.
void send_all(int fd, const std::string& bytes) {
    std::size_t off = 0;
    auto deadline = Clock::now() + 30s;
    while (off < bytes.size() && Clock::now() < deadline) {
        ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd, POLLOUT, 0};
            ::poll(&p, 1, 50);
            continue;
        }
        if (n <= 0) {
            return;
        }
        off += static_cast<std::size_t>(n);
    }
}

/// The state letter and parent pid from /proc/<pid>/stat, or nullopt.
std::optional<std::pair<char, pid_t>> stat_of(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size()) {
        return std::nullopt;
    }
    // After "(comm) " come the state and the parent pid.
    char state = stat[close + 2];
    long ppid = std::strtol(stat.c_str() + close + 4, nullptr, 10);
    return std::make_pair(state, static_cast<pid_t>(ppid));
}

/// The fields of /proc/<pid>/stat after "(comm) ": index 0 is field 3 (the state), so field
/// N is at N - 3. Empty when the process is gone.
std::vector<std::string> stat_fields(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    std::vector<std::string> out;
    if (close == std::string::npos || close + 2 >= stat.size()) {
        return out;
    }
    std::istringstream in(stat.substr(close + 2));
    for (std::string field; in >> field;) {
        out.push_back(std::move(field));
    }
    return out;
}

/// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or -1: with the pid
/// it names one process, so a pid reused by another process is never mistaken for it.
long long start_time_of(pid_t pid) {
    auto f = stat_fields(pid);
    return f.size() > 22 - 3 ? std::stoll(f[22 - 3]) : -1;
}

std::atomic<int> cluster_counter{0};

} // namespace

bool wait_until(Clock::time_point deadline, const std::function<bool()>& pred) {
    for (;;) {
        if (pred()) {
            return true;
        }
        if (Clock::now() >= deadline) {
            return pred();
        }
        std::this_thread::sleep_for(20ms);
    }
}

bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& pred) {
    return wait_until(Clock::now() + timeout, pred);
}

std::filesystem::path lond_bin() {
    return from_env("LONLINK_LOND", "daemons/lond/lond");
}
std::filesystem::path lonc_bin() {
    return from_env("LONLINK_LONC", "daemons/lonc/lonc");
}
std::filesystem::path lonreply_bin() {
    return from_env("LONLINK_LONREPLY", "daemons/lonreply/lonreply");
}
std::filesystem::path scripts_dir() {
    return from_env("LONLINK_SCRIPTS", "../scripts");
}

std::string read_file(const std::filesystem::path& path) {
    // Plain read(2): /proc files of a process that exits meanwhile fail with ESRCH, which
    // must read as "gone" (empty), not throw as std::ifstream does.
    std::string text;
    lon::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return text;
    }
    char chunk[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? std::string() : text;
        }
        text.append(chunk, static_cast<std::size_t>(n));
    }
}

std::string read_title(pid_t pid) {
    if (pid <= 0) {
        return {};
    }
    std::string s = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) {
        s.pop_back();
    }
    std::replace(s.begin(), s.end(), '\0', ' ');
    return s;
}

std::string await_title_if(const std::function<pid_t()>& find,
                           const std::function<bool(const std::string&)>& pred,
                           std::chrono::milliseconds timeout) {
    std::string last;
    wait_until(timeout, [&] {
        last = read_title(find());
        return pred(last);
    });
    return last;
}

std::string await_title(const std::function<pid_t()>& find, const std::string& expected,
                        std::chrono::milliseconds timeout) {
    return await_title_if(
        find, [&](const std::string& t) { return t == expected; }, timeout);
}

std::string await_title(pid_t pid, const std::string& expected, std::chrono::milliseconds timeout) {
    return await_title([pid] { return pid; }, expected, timeout);
}

std::optional<JsonObject> await_status(const std::filesystem::path& path,
                                       const std::vector<std::pair<std::string, std::string>>& want,
                                       std::chrono::milliseconds timeout) {
    std::optional<JsonObject> last;
    wait_until(timeout, [&] {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
            return false;
        }
        auto doc = parse_json_object(read_file(path));
        if (!doc) {
            return false;
        }
        last = std::move(doc);
        for (const auto& [key, value] : want) {
            auto it = last->find(key);
            if (it == last->end() || it->second != value) {
                return false;
            }
        }
        return true;
    });
    return last;
}

std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> out;
    if (parent <= 0) {
        return out;
    }
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
        std::string name = e.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        auto pid = static_cast<pid_t>(std::stol(name));
        auto st = stat_of(pid);
        if (st && st->second == parent && st->first != 'Z') {
            out.push_back(pid);
        }
    }
    return out;
}

std::vector<pid_t> descendants_of(pid_t pid) {
    std::vector<pid_t> out = children_of(pid);
    for (std::size_t i = 0; i < out.size(); ++i) {
        for (pid_t k : children_of(out[i])) {
            out.push_back(k);
        }
    }
    return out;
}

std::filesystem::path libfaketime() {
    for (const char* p : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                          "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                          "/usr/lib/faketime/libfaketime.so.1"}) {
        if (std::filesystem::exists(p)) {
            return p;
        }
    }
    return {};
}

std::vector<std::string> faked_clock(const std::filesystem::path& clock_file) {
    return {"/usr/bin/env",
            "LD_PRELOAD=" + libfaketime().string(),
            "FAKETIME_TIMESTAMP_FILE=" + clock_file.string(),
            "FAKETIME_NO_CACHE=1",
            "FAKETIME_DONT_FAKE_MONOTONIC=1"};
}

bool sanitized_build() {
    const char* v = std::getenv("LONLINK_SANITIZED");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

long private_kb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    if (!in) {
        return -1;
    }
    long sum = 0;
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("Private_Clean:", 0) == 0 || line.rfind("Private_Dirty:", 0) == 0) {
            std::istringstream fields(line.substr(line.find(':') + 1));
            long kb = 0;
            fields >> kb;
            sum += kb;
        }
    }
    return sum;
}

long proc_status_kb(pid_t pid, const std::string& field) {
    std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(field + ":", 0) == 0) {
            return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
        }
    }
    return -1;
}

double cpu_seconds(pid_t pid) {
    // utime and stime are fields 14 and 15.
    auto f = stat_fields(pid);
    if (f.size() <= 15 - 3) {
        return -1;
    }
    return static_cast<double>(std::stoll(f[14 - 3]) + std::stoll(f[15 - 3])) /
           static_cast<double>(::sysconf(_SC_CLK_TCK));
}

long long context_switches(pid_t pid) {
    std::error_code ec;
    std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", ec);
    if (ec) {
        return -1;
    }
    long long total = 0;
    for (const auto& task : tasks) {
        std::istringstream in(read_file(task.path() / "status"));
        for (std::string line; std::getline(in, line);) {
            for (const char* field : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"}) {
                if (line.rfind(field, 0) == 0) {
                    total += std::strtoll(line.c_str() + std::strlen(field), nullptr, 10);
                }
            }
        }
    }
    return total;
}

std::size_t files_in(const std::filesystem::path& dir) {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        ++n;
    }
    return n;
}

bool alive(pid_t pid) {
    if (pid <= 0 || ::kill(pid, 0) != 0) {
        return false;
    }
    auto st = stat_of(pid);
    return st && st->first != 'Z';
}

std::optional<pid_t> read_pid_file(const std::filesystem::path& path) {
    std::string text = read_file(path);
    if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0])) == 0) {
        return std::nullopt;
    }
    long v = std::strtol(text.c_str(), nullptr, 10);
    if (v <= 0) {
        return std::nullopt;
    }
    return static_cast<pid_t>(v);
}

bool file_has_line_with(const std::filesystem::path& path, const std::vector<std::string>& parts) {
    std::istringstream in(read_file(path));
    for (std::string line; std::getline(in, line);) {
        if (std::all_of(parts.begin(), parts.end(),
                        [&](const std::string& p) { return line.find(p) != std::string::npos; })) {
            return true;
        }
    }
    return false;
}

namespace title {

std::string lonc_parent(const std::string& own_id, int links) {
    return "lonc: parent " + own_id + " links: " + std::to_string(links);
}
std::string lonc_connecting(const std::string& peer, int retries) {
    return "lonc: " + peer + " Connecting Retries remaining: " + std::to_string(retries);
}
std::string lonc_linked(const std::string& peer, int connections, int retries,
                        const std::string& mode) {
    return "lonc: " + peer + " Connection count: " + std::to_string(connections) +
           " Retries remaining: " + std::to_string(retries) + " (" + mode + ")";
}
std::string lonc_dead_prefix(const std::string& peer) {
    return "lonc: " + peer + " >>> DEAD !!!! <<< next probe in ";
}
bool is_lonc_dead(const std::string& t, const std::string& peer) {
    std::string prefix = lonc_dead_prefix(peer);
    if (t.rfind(prefix, 0) != 0 || t.size() < prefix.size() + 2 || t.back() != 's') {
        return false;
    }
    std::string secs = t.substr(prefix.size(), t.size() - prefix.size() - 1);
    return secs.find_first_not_of("0123456789") == std::string::npos;
}
std::string lond_parent(const std::string& own_id, const std::string& address, int peers) {
    return "lond: parent " + own_id + " listening " + address + ":" + std::to_string(lon_port) +
           " peers: " + std::to_string(peers);
}
std::string lond_child(const std::string& peer, int connections, const std::string& mode) {
    return "lond: " + peer + " Connection count: " + std::to_string(connections) + " (" + mode +
           ")";
}

} // namespace title

namespace {

/// A small JSON reader: enough to check the shape of a status line, not a general parser.
class JsonScan {
  public:
    explicit JsonScan(std::string_view t) : t_(t) {}

    std::optional<std::map<std::string, std::string>> object() {
        std::map<std::string, std::string> out;
        ws();
        if (!eat('{')) {
            return std::nullopt;
        }
        ws();
        if (eat('}')) {
            return end(std::move(out));
        }
        for (;;) {
            ws();
            auto k = string();
            ws();
            if (!k || !eat(':')) {
                return std::nullopt;
            }
            ws();
            std::size_t from = i_;
            if (!value()) {
                return std::nullopt;
            }
            auto key = k->substr(1, k->size() - 2);
            out[key] = std::string(t_.substr(from, i_ - from));
            ws();
            if (eat('}')) {
                return end(std::move(out));
            }
            if (!eat(',')) {
                return std::nullopt;
            }
        }
    }

  private:
    std::optional<std::map<std::string, std::string>> end(std::map<std::string, std::string> m) {
        ws();
        if (i_ != t_.size()) {
            return std::nullopt;
        }
        return m;
    }
    void ws() {
        while (i_ < t_.size() &&
               (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\r' || t_[i_] == '\n')) {
            ++i_;
        }
    }
    bool eat(char c) {
        if (i_ < t_.size() && t_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    std::optional<std::string> string() {
        std::size_t from = i_;
        if (!eat('"')) {
            return std::nullopt;
        }
        while (i_ < t_.size() && t_[i_] != '"') {
            if (static_cast<unsigned char>(t_[i_]) < 0x20) {
                return std::nullopt;
            }
            i_ += (t_[i_] == '\\') ? 2 : 1;
        }
        if (!eat('"')) {
            return std::nullopt;
        }
        return std::string(t_.substr(from, i_ - from));
    }
    bool literal(std::string_view w) {
        if (t_.substr(i_, w.size()) == w) {
            i_ += w.size();
            return true;
        }
        return false;
    }
    bool number() {
        std::size_t from = i_;
        eat('-');
        while (i_ < t_.size() &&
               (std::isdigit(static_cast<unsigned char>(t_[i_])) != 0 || t_[i_] == '.' ||
                t_[i_] == 'e' || t_[i_] == 'E' || t_[i_] == '+' || t_[i_] == '-')) {
            ++i_;
        }
        return i_ > from && std::isdigit(static_cast<unsigned char>(t_[i_ - 1])) != 0;
    }
    bool value() {
        if (i_ >= t_.size()) {
            return false;
        }
        char c = t_[i_];
        if (c == '"') {
            return string().has_value();
        }
        if (c == '{' || c == '[') {
            char close = c == '{' ? '}' : ']';
            ++i_;
            ws();
            if (eat(close)) {
                return true;
            }
            for (;;) {
                ws();
                if (c == '{') {
                    ws();
                    if (!string()) {
                        return false;
                    }
                    ws();
                    if (!eat(':')) {
                        return false;
                    }
                    ws();
                }
                if (!value()) {
                    return false;
                }
                ws();
                if (eat(close)) {
                    return true;
                }
                if (!eat(',')) {
                    return false;
                }
            }
        }
        return literal("null") || literal("true") || literal("false") || number();
    }

    std::string_view t_;
    std::size_t i_ = 0;
};

} // namespace

std::optional<std::map<std::string, std::string>> parse_json_object(std::string_view text) {
    return JsonScan(text).object();
}

namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& out,
            const std::filesystem::path& err) {
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) {
        cargv.push_back(a.data());
    }
    cargv.push_back(nullptr);
    // Everything the child needs is prepared before fork: after it only async-signal-safe
    // calls until exec.
    std::string out_path = out.string();
    std::string err_path = err.string();
    install_process_guard();
    pid_t pid = ::fork();
    if (pid == 0) {
        // A daemon starts as init would start it: default dispositions, nothing blocked
        // (ignored signals and the mask survive exec; the test process may have changed them).
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) {
            if (sig != SIGKILL && sig != SIGSTOP) {
                ::sigaction(sig, &dfl, nullptr); // sigaction: async-signal-safe after fork
            }
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int e = err_path == out_path
                    ? o
                    : ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (o < 0 || e < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(o, 1) < 0 ||
            ::dup2(e, 2) < 0) {
            ::_exit(126);
        }
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    return pid;
}

} // namespace

Process::Process(const std::vector<std::string>& argv, const std::filesystem::path& output)
    : pid_(spawn(argv, output, output)) {}

Process::Process(const std::vector<std::string>& argv, const std::filesystem::path& out,
                 const std::filesystem::path& err)
    : pid_(spawn(argv, out, err)) {}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(other.status_),
      noted_(std::exchange(other.noted_, {})) {}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        stop();
        pid_ = std::exchange(other.pid_, -1);
        status_ = other.status_;
        noted_ = std::exchange(other.noted_, {});
    }
    return *this;
}

Process::~Process() {
    stop();
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    if (status_ || pid_ <= 0) {
        return status_;
    }
    wait_until(timeout, [&] {
        int st = 0;
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return true;
        }
        return false;
    });
    return status_;
}

void Process::note_descendants() {
    if (pid_ <= 0 || status_) {
        return;
    }
    for (pid_t k : descendants_of(pid_)) {
        long long t = start_time_of(k);
        if (t >= 0 && std::none_of(noted_.begin(), noted_.end(),
                                   [&](const auto& n) { return n.first == k; })) {
            noted_.emplace_back(k, t);
        }
    }
}

void Process::kill_noted() {
    for (const auto& [k, t] : noted_) {
        if (alive(k) && start_time_of(k) == t) {
            ::kill(k, SIGKILL);
        }
    }
    // Orphans are re-parented to this process (the subreaper): collect them.
    for (const auto& n : noted_) {
        ::waitpid(n.first, nullptr, WNOHANG);
    }
}

std::optional<int> Process::terminate(std::chrono::milliseconds timeout) {
    if (pid_ > 0 && !status_) {
        // Noted now: a child that survives its parent's TERM (what such a test looks for)
        // is no longer the parent's once it has gone, and stop() must still kill it.
        note_descendants();
        ::kill(pid_, SIGTERM);
    }
    return wait(timeout);
}

void Process::stop() {
    if (pid_ > 0 && !status_) {
        // Whatever it forked, noted before it goes: once it is gone they are no longer its
        // children and could only be found by name, which we never do.
        note_descendants();
        ::kill(pid_, SIGTERM);
        if (!wait(10s)) {
            note_descendants();
            ::kill(pid_, SIGKILL);
            wait(5s);
        }
    }
    // A clean stop takes its children along; give them a moment, then KILL what is left
    // (also when the process had already exited: its survivors were noted at terminate()).
    wait_until(2s, [&] {
        return std::none_of(noted_.begin(), noted_.end(), [](const auto& n) {
            return alive(n.first) && start_time_of(n.first) == n.second;
        });
    });
    kill_noted();
    noted_.clear();
}

RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    TempDir tmp;
    auto out = tmp.path() / "out";
    auto err = tmp.path() / "err";
    RunResult r;
    {
        Process p(argv, out, err);
        auto code = p.wait(timeout);
        if (!code) {
            p.stop();
        }
        r.code = code.value_or(-1);
    }
    r.out = read_file(out);
    r.err = read_file(err);
    r.output = r.out + r.err;
    return r;
}

TempDir::TempDir() {
    std::string tmpl = "/tmp/lonlink-it.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    path_ = tmpl;
    register_temp_dir(path_);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    unregister_temp_dir(path_);
}

UnixClient::UnixClient(const std::filesystem::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.string().size() >= sizeof addr.sun_path) {
        return;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.string().size());
    lon::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        fd_ = std::move(fd);
    }
}

void UnixClient::send(const std::string& bytes) {
    send_all(fd_.get(), bytes);
}

std::optional<std::string> UnixClient::read_line(std::chrono::milliseconds timeout) {
    if (auto l = take_line(in_)) {
        return l;
    }
    if (!fd_ || !read_until_newline(fd_.get(), in_, timeout)) {
        return std::nullopt;
    }
    return take_line(in_);
}

std::string UnixClient::request(const std::string& line, std::chrono::milliseconds timeout) {
    send(line + "\n");
    return read_line(timeout).value_or("<timeout>");
}

RawTcpClient::RawTcpClient(const std::string& source_ip, const std::string& dest_ip,
                           unsigned short port) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    connected_ = fd_ && ::inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr) == 1 &&
                 ::inet_pton(AF_INET, dest_ip.c_str(), &dst.sin_addr) == 1 &&
                 ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) == 0 &&
                 ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0;
}

void RawTcpClient::send(const std::string& bytes) {
    send_all(fd_.get(), bytes);
}

std::optional<std::string> RawTcpClient::read_line(std::chrono::milliseconds timeout) {
    if (auto l = take_line(in_)) {
        return l;
    }
    if (!read_until_newline(fd_.get(), in_, timeout)) {
        return std::nullopt;
    }
    return take_line(in_);
}

bool RawTcpClient::closed_by_peer(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{fd_.get(), POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        char chunk[4096];
        ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return true;
        }
        in_.append(chunk, static_cast<std::size_t>(n));
    }
}

std::string LoncOptions::yaml() const {
    return "{ retries: " + std::to_string(retries) + ", backoff_initial: " + backoff_initial +
           ", backoff_max: " + backoff_max + ", stable_after: " + stable_after +
           ", idle_timeout: " + idle_timeout + ", request_timeout: " + request_timeout +
           ", keepalive: " + keepalive + ", max_connections: " + std::to_string(max_connections) +
           " }";
}

std::string LimitsOptions::yaml() const {
    std::string y = "{ handshake_timeout: " + handshake_timeout;
    if (!max_message_bytes.empty()) {
        y += ", max_message_bytes: " + max_message_bytes;
    }
    return y + " }";
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
    // 127.<this run's block, 100..199>.<fresh per cluster>.<11..>: never the demo's
    // 127.0.0.x, never another test run's block (each run holds its block's lock).
    int n = cluster_counter++;
    net_ = "127." + std::to_string(loopback_block()) + "." + std::to_string(1 + n % 250);
    std::string hosts_yaml = "hosts:\n";
    for (int i = 0; i < options_.hosts; ++i) {
        hosts_yaml += "  - { id: " + id(i) + ", address: " + address(i) +
                      ", port: " + std::to_string(lon_port) + " }\n";
    }
    std::ofstream(tmp_.path() / "hosts.yaml") << hosts_yaml;
    const std::string lonc = options_.lonc_yaml.empty() ? options_.lonc.yaml() : options_.lonc_yaml;
    const std::string limits =
        options_.limits_yaml.empty() ? options_.limits.yaml() : options_.limits_yaml;
    for (int i = 0; i < options_.hosts; ++i) {
        auto d = dir(i);
        std::filesystem::create_directories(d);
        std::ofstream(config(i)) << "host_id: " << id(i) << "\n"
                                 << "hosts_file: " << (tmp_.path() / "hosts.yaml").string() << "\n"
                                 << "listen: { address: " << address(i) << ", port: " << lon_port
                                 << " }\n"
                                 << "paths: { cert_dir: " << (d / "certs").string()
                                 << ", socket_dir: " << (d / options_.socket_subdir).string()
                                 << ", run_dir: " << (d / "run").string()
                                 << ", log_dir: " << (d / "log").string()
                                 << ", spool_dir: " << (d / "spool").string()
                                 << ", state_dir: " << (d / "state").string() << " }\n"
                                 << "socket_group: null\n"
                                 << "lonc: " << lonc << "\n"
                                 << "limits: " << limits << "\n"
                                 << options_.extra_yaml;
    }
    lond_.resize(static_cast<std::size_t>(options_.hosts));
    lonc_.resize(static_cast<std::size_t>(options_.hosts));
}

Cluster::~Cluster() {
    for (auto& p : lonc_) {
        p.stop();
    }
    for (auto& p : lond_) {
        p.stop();
    }
}

Host Cluster::host(int i) const {
    return Host{i, id(i), address(i), dir(i), config(i)};
}
std::string Cluster::id(int i) const {
    return "it" + std::to_string(i + 1);
}
std::string Cluster::address(int i) const {
    return net_ + "." + std::to_string(11 + i);
}
std::string Cluster::stranger_address() const {
    return net_ + ".250";
}
std::filesystem::path Cluster::dir(int i) const {
    return tmp_.path() / id(i);
}
std::filesystem::path Cluster::config(int i) const {
    return dir(i) / "lonlink.yaml";
}
std::filesystem::path Cluster::socket(int from, int to) const {
    return dir(from) / options_.socket_subdir / id(to);
}
std::filesystem::path Cluster::log_file(int i, const char* daemon) const {
    return dir(i) / "log" / (std::string(daemon) + ".log");
}
std::filesystem::path Cluster::output_file(int i, const char* daemon) const {
    return dir(i) / (std::string(daemon) + ".out");
}

void Cluster::start_daemon(int i, const char* name, const std::vector<std::string>& prefix) {
    bool lond = std::string_view(name) == "lond";
    auto& p = (lond ? lond_ : lonc_)[static_cast<std::size_t>(i)];
    auto out = output_file(i, name);
    std::vector<std::string> argv = prefix;
    std::filesystem::path bin = lond ? options_.lond_binary : options_.lonc_binary;
    if (bin.empty()) {
        bin = lond ? lond_bin() : lonc_bin();
    }
    for (std::string a : {bin.string(), std::string("--config"),
                          config(i).string(), std::string("--foreground")}) {
        argv.push_back(std::move(a));
    }
    p = Process(argv, out);
    // Ready once the daemon wrote its own pid into its pid file and set its parent title:
    // in the foreground the pid file is written before the sockets are bound, the title
    // only once they are (Listener::start, Parent::start).
    auto pidfile = run_dir(i) / (std::string(name) + ".pid");
    const std::string titled = std::string(name) + ": parent ";
    bool ready = wait_until(10s, [&] {
        return (read_pid_file(pidfile) == std::optional<pid_t>(p.pid()) &&
                read_title(p.pid()).rfind(titled, 0) == 0) ||
               !alive(p.pid());
    });
    if (!ready || !alive(p.pid())) {
        auto code = p.wait(1s);
        throw std::runtime_error(std::string(name) + " " + id(i) + " did not start (exit " +
                                 (code ? std::to_string(*code) : std::string("none")) +
                                 "): " + read_file(out));
    }
}

void Cluster::start_lond(int i) {
    start_daemon(i, "lond");
}
void Cluster::start_lond(int i, const std::vector<std::string>& prefix) {
    start_daemon(i, "lond", prefix);
}
void Cluster::start_lonc(int i) {
    start_daemon(i, "lonc");
}
void Cluster::start_lonc(int i, const std::vector<std::string>& prefix) {
    start_daemon(i, "lonc", prefix);
}

void Cluster::start_all() {
    for (int i = 0; i < options_.hosts; ++i) {
        start_lond(i);
        start_lonc(i);
    }
}

void Cluster::stop_lond(int i) {
    lond_[static_cast<std::size_t>(i)].stop();
}
void Cluster::stop_lonc(int i) {
    lonc_[static_cast<std::size_t>(i)].stop();
}
std::optional<int> Cluster::terminate_lond(int i, std::chrono::milliseconds timeout) {
    return lond_[static_cast<std::size_t>(i)].terminate(timeout);
}
std::optional<int> Cluster::terminate_lonc(int i, std::chrono::milliseconds timeout) {
    return lonc_[static_cast<std::size_t>(i)].terminate(timeout);
}

pid_t Cluster::lonc_child(int from, int to) const {
    for (pid_t c : children_of(lonc_pid(from))) {
        if (read_title(c).rfind("lonc: " + id(to) + " ", 0) == 0) {
            return c;
        }
    }
    return -1;
}

pid_t Cluster::lond_child(int at, int from) const {
    for (pid_t c : children_of(lond_pid(at))) {
        if (read_title(c).rfind("lond: " + id(from) + " ", 0) == 0) {
            return c;
        }
    }
    return -1;
}

std::filesystem::path Cluster::ca_dir(const std::string& ca) const {
    return tmp_.path() / ca;
}

void Cluster::issue_certificate(int i, const std::string& ca, int days) {
    auto scripts = scripts_dir();
    // The scripts read the config through lond (scripts/lib/lonconfig.sh): the one under test.
    const std::string bin_dir = "LONLINK_BIN_DIR=" + lond_bin().parent_path().parent_path().string();
    auto check = [](const RunResult& r, const std::string& what) {
        if (r.code != 0) {
            throw std::runtime_error(what + " failed (" + std::to_string(r.code) +
                                     "): " + r.output);
        }
    };
    if (!std::filesystem::exists(ca_dir(ca) / "ca.pem")) {
        check(run({"/usr/bin/env", bin_dir, "/bin/bash", (scripts / "make-cluster-ca").string(), "--ca-dir",
                   ca_dir(ca).string(), "--name", "lonlink test " + ca}),
              "make-cluster-ca");
    }
    check(run({"/usr/bin/env", bin_dir, "/bin/bash", (scripts / "request_ssl_key.sh").string(), "--config",
               config(i).string()}),
          "request_ssl_key.sh");
    auto out = tmp_.path() / ("responses-" + ca);
    std::filesystem::create_directories(out);
    std::vector<std::string> sign = {"/usr/bin/env", bin_dir, "/bin/bash", (scripts / "sign-response").string(),
                                     "--ca-dir", ca_dir(ca).string(),
                                     "--hosts", (tmp_.path() / "hosts.yaml").string(),
                                     "--out-dir", out.string()};
    if (days > 0) {
        sign.insert(sign.end(), {"--days", std::to_string(days)});
    }
    sign.push_back((dir(i) / "certs" / "lonhost.csr").string());
    check(run(sign), "sign-response");
    check(run({"/usr/bin/env", bin_dir, "/bin/bash", (out / (id(i) + ".response.sh")).string(), "--config",
               config(i).string()}),
          "response script");
}

void Cluster::edit_config(int i, const std::string& from, const std::string& to) const {
    std::string text = read_file(config(i));
    auto at = text.find(from);
    if (at == std::string::npos) {
        throw std::runtime_error("'" + from + "' is not in " + config(i).string());
    }
    text.replace(at, from.size(), to);
    std::ofstream(config(i), std::ios::trunc) << text;
}

void Cluster::reload(int i) {
    for (pid_t p : {lond_pid(i), lonc_pid(i)}) {
        if (p > 0 && alive(p)) {
            ::kill(p, SIGHUP);
        }
    }
}

std::string Cluster::request(int from, int to, const std::string& line,
                             std::chrono::milliseconds timeout) const {
    UnixClient c(socket(from, to));
    if (!c.connected()) {
        return "<cannot connect>";
    }
    return c.request(line, timeout);
}

RunResult Cluster::lonreply(int from, int to, const std::string& line) const {
    return run({lonreply_bin().string(), "--config", config(from).string(), id(to), line});
}

} // namespace it
