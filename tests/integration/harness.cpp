#include "harness.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
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
    return std::filesystem::absolute((v != nullptr && *v != '\0') ? std::filesystem::path(v)
                                                                 : std::filesystem::path(fallback));
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

void send_all(int fd, const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        off += static_cast<std::size_t>(n);
    }
}

std::atomic<int> cluster_counter{0};

} // namespace

bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& pred) {
    auto deadline = Clock::now() + timeout;
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

std::filesystem::path lond_bin() { return from_env("LONLINK_LOND", "daemons/lond/lond"); }
std::filesystem::path lonc_bin() { return from_env("LONLINK_LONC", "daemons/lonc/lonc"); }
std::filesystem::path lonreply_bin() {
    return from_env("LONLINK_LONREPLY", "daemons/lonreply/lonreply");
}
std::filesystem::path scripts_dir() { return from_env("LONLINK_SCRIPTS", "../scripts"); }

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string read_title(pid_t pid) {
    std::string s = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    for (char& c : s) {
        if (c == '\0') {
            c = ' ';
        }
    }
    while (!s.empty() && s.back() == ' ') {
        s.pop_back();
    }
    return s;
}

std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> out;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::string stat = read_file(e.path() / "stat");
        auto close = stat.rfind(')');
        if (close == std::string::npos || close + 4 >= stat.size()) {
            continue;
        }
        // After "(comm) " come the state and the parent pid.
        char state = stat[close + 2];
        long ppid = std::strtol(stat.c_str() + close + 4, nullptr, 10);
        if (ppid == parent && state != 'Z') {
            out.push_back(static_cast<pid_t>(std::stol(name)));
        }
    }
    return out;
}

bool alive(pid_t pid) {
    if (pid <= 0 || ::kill(pid, 0) != 0) {
        return false;
    }
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

Process::Process(const std::vector<std::string>& argv, const std::filesystem::path& output) {
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) {
        cargv.push_back(a.data());
    }
    cargv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
        int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) {
            ::dup2(null, 0);
        }
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    if (pid_ < 0) {
        throw std::runtime_error("fork failed");
    }
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(other.status_) {}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        stop();
        pid_ = std::exchange(other.pid_, -1);
        status_ = other.status_;
    }
    return *this;
}

Process::~Process() { stop(); }

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

void Process::stop() {
    if (pid_ <= 0 || status_) {
        return;
    }
    auto kids = children_of(pid_);
    ::kill(pid_, SIGTERM);
    if (!wait(10s)) {
        ::kill(pid_, SIGKILL);
        wait(5s);
    }
    for (pid_t k : kids) {
        if (alive(k)) {
            ::kill(k, SIGKILL);
        }
    }
}

RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    TempDir tmp;
    auto out = tmp.path() / "out";
    Process p(argv, out);
    RunResult r;
    auto code = p.wait(timeout);
    if (!code) {
        p.stop();
        r.code = -1;
    } else {
        r.code = *code;
    }
    r.output = read_file(out);
    return r;
}

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lonlink-it.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

UnixClient::UnixClient(const std::filesystem::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    lon::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        fd_ = std::move(fd);
    }
}

void UnixClient::send(const std::string& bytes) { send_all(fd_.get(), bytes); }

std::optional<std::string> UnixClient::read_line(std::chrono::milliseconds timeout) {
    if (auto l = take_line(in_)) {
        return l;
    }
    if (!fd_ || !read_until_newline(fd_.get(), in_, timeout)) {
        return std::nullopt;
    }
    return take_line(in_);
}

TcpClient::TcpClient(const std::string& source_ip, const std::string& dest_ip,
                     unsigned short port) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    ::inet_pton(AF_INET, dest_ip.c_str(), &dst.sin_addr);
    connected_ = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) == 0 &&
                 ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0;
}

void TcpClient::send(const std::string& bytes) { send_all(fd_.get(), bytes); }

std::optional<std::string> TcpClient::read_line(std::chrono::milliseconds timeout) {
    if (auto l = take_line(in_)) {
        return l;
    }
    if (!read_until_newline(fd_.get(), in_, timeout)) {
        return std::nullopt;
    }
    return take_line(in_);
}

bool TcpClient::closed_by_peer(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            return false;
        }
        char chunk[4096];
        ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
        if (n <= 0) {
            return true;
        }
        in_.append(chunk, static_cast<std::size_t>(n));
    }
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
    // 127.<100..199 from our pid>.<fresh per cluster>.<11..>: never the demo's 127.0.0.x,
    // never another test run's range (unless pids collide modulo 100 at the same moment).
    int n = cluster_counter++;
    net_ = "127." + std::to_string(100 + ::getpid() % 100) + "." + std::to_string(1 + n % 250);
    std::string hosts = "hosts:\n";
    for (int i = 0; i < options_.hosts; ++i) {
        hosts += "  - { id: " + id(i) + ", address: " + address(i) + ", port: 5663 }\n";
    }
    std::ofstream(tmp_.path() / "hosts.yaml") << hosts;
    for (int i = 0; i < options_.hosts; ++i) {
        std::filesystem::create_directories(dir(i));
        std::ofstream(config(i)) << "host_id: " << id(i) << "\nhosts_file: ../hosts.yaml\n"
                                 << "listen: { address: " << address(i) << ", port: 5663 }\n"
                                 << "socket_group: null\n"
                                 << "lonc: " << options_.lonc_yaml << "\n"
                                 << "limits: " << options_.limits_yaml << "\n"
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

std::string Cluster::id(int i) const { return "it" + std::to_string(i + 1); }
std::string Cluster::address(int i) const { return net_ + "." + std::to_string(11 + i); }
std::string Cluster::stranger_address() const { return net_ + ".99"; }
std::filesystem::path Cluster::dir(int i) const { return tmp_.path() / id(i); }
std::filesystem::path Cluster::config(int i) const { return dir(i) / "lonlink.yaml"; }
std::filesystem::path Cluster::socket(int from, int to) const {
    return dir(from) / "sockets" / id(to);
}
std::filesystem::path Cluster::log_file(int i, const char* daemon) const {
    return dir(i) / "log" / (std::string(daemon) + ".log");
}

void Cluster::start_daemon(int i, const char* name) {
    bool lond = std::string_view(name) == "lond";
    auto& p = (lond ? lond_ : lonc_)[static_cast<std::size_t>(i)];
    auto out = dir(i) / (std::string(name) + ".out");
    p = Process({(lond ? lond_bin() : lonc_bin()).string(), "--config", config(i).string(),
                 "--foreground"},
                out);
    // Ready once the daemon wrote its own pid into its pid file (after binding).
    auto pidfile = run_dir(i) / (std::string(name) + ".pid");
    bool ready = wait_until(10s, [&] {
        return read_file(pidfile) == std::to_string(p.pid()) + "\n" || !alive(p.pid());
    });
    if (!ready || !alive(p.pid())) {
        throw std::runtime_error(std::string(name) + " " + id(i) +
                                 " did not start: " + read_file(out));
    }
}

void Cluster::start_lond(int i) { start_daemon(i, "lond"); }
void Cluster::start_lonc(int i) { start_daemon(i, "lonc"); }

void Cluster::start_all() {
    for (int i = 0; i < options_.hosts; ++i) {
        start_lond(i);
        start_lonc(i);
    }
}

void Cluster::stop_lond(int i) { lond_[static_cast<std::size_t>(i)].stop(); }
void Cluster::stop_lonc(int i) { lonc_[static_cast<std::size_t>(i)].stop(); }

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

std::filesystem::path Cluster::ca_dir(const std::string& ca) const { return tmp_.path() / ca; }

void Cluster::issue_certificate(int i, const std::string& ca) {
    auto scripts = scripts_dir();
    auto check = [](const RunResult& r, const std::string& what) {
        if (r.code != 0) {
            throw std::runtime_error(what + " failed (" + std::to_string(r.code) + "): " + r.output);
        }
    };
    if (!std::filesystem::exists(ca_dir(ca) / "ca.pem")) {
        check(run({"/bin/bash", (scripts / "make-cluster-ca").string(), "--ca-dir",
                   ca_dir(ca).string(), "--name", "lonlink test " + ca}),
              "make-cluster-ca");
    }
    check(run({"/bin/bash", (scripts / "request_ssl_key.sh").string(), "--config",
               config(i).string()}),
          "request_ssl_key.sh");
    auto out = tmp_.path() / ("responses-" + ca);
    std::filesystem::create_directories(out);
    check(run({"/bin/bash", (scripts / "sign-response").string(), "--ca-dir", ca_dir(ca).string(),
               "--hosts", (tmp_.path() / "hosts.yaml").string(), "--out-dir", out.string(),
               (dir(i) / "certs" / "lonhost.csr").string()}),
          "sign-response");
    check(run({"/bin/bash", (out / (id(i) + ".response.sh")).string(), "--config",
               config(i).string()}),
          "response script");
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
    c.send(line + "\n");
    return c.read_line(timeout).value_or("<timeout>");
}

} // namespace it
