// lonreply: send one request to a peer through the local lonc and print the reply.
//   lonreply [--config FILE] [--timeout SECONDS] <peer> <request>
// Exit status: 0 reply received; 1 the reply is a failure (con_lost, con_failed,
// refused:*, unknown_cmd, error:*) or lonc could not be reached (stderr only); 2 usage/config error.

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include <csignal>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.hpp"
#include "daemon_args.hpp"
#include "replies.hpp"
#include "unique_fd.hpp"

namespace {

constexpr const char* usage =
    "usage: lonreply [--config FILE] [--timeout SECONDS] <peer> <request>\n"
    "       lonreply --help | --version\n"
    "  Sends <request> to <peer> through this host's lonc (<socket_dir>/<peer>) and prints\n"
    "  the reply line. --config defaults to $LONLINK_CONFIG or /etc/lonlink/lonlink.yaml.\n"
    "  Exit status: 0 ok; 1 failure reply (con_lost, con_failed, refused:*, unknown_cmd,\n"
    "  error:*), or lonc not running (a message on stderr, no reply line); 2 usage or\n"
    "  configuration error.\n";

bool is_failure(std::string_view reply) {
    namespace r = lon::proto::replies;
    return reply == r::con_lost || reply == r::con_failed || reply == r::unknown_cmd ||
           reply.rfind("refused:", 0) == 0 || reply.rfind("error:", 0) == 0;
}

/// Writes all of `data` or fails.
bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

/// The pid of the lonc parent named by run_dir/lonc.pid if it runs, else -1.
pid_t running_lonc(const lon::Config& cfg) {
    std::FILE* f = std::fopen((cfg.paths.run_dir / "lonc.pid").c_str(), "re");
    if (f == nullptr) {
        return -1;
    }
    long pid = -1;
    if (std::fscanf(f, "%ld", &pid) != 1) {
        pid = -1;
    }
    std::fclose(f);
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM)) {
        return -1;
    }
    return static_cast<pid_t>(pid);
}

} // namespace

int main(int argc, char** argv) {
    std::string config_path = lon::link::default_config_path();
    int timeout_s = 0; // 0: lonc's own request_timeout answers first
    std::string peer;
    std::string request;
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if ((a == "--config" || a == "-c") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a == "--timeout" && i + 1 < argc) {
            timeout_s = std::atoi(argv[++i]);
        } else if (a == "--help" || a == "-h") {
            std::fputs(usage, stdout);
            return 0;
        } else if (a == "--version") {
            std::printf("lonreply (lonlink) %s\n", LONLINK_VERSION);
            return 0;
        } else if (positional == 0) {
            peer = a;
            ++positional;
        } else if (positional == 1) {
            request = a;
            ++positional;
        } else {
            std::fputs(usage, stderr);
            return 2;
        }
    }
    if (positional != 2 || request.find('\n') != std::string::npos) {
        std::fputs(usage, stderr);
        return 2;
    }
    lon::Config cfg;
    try {
        cfg = lon::load_config(config_path);
    } catch (const lon::ConfigError& e) {
        std::string unread =
            std::filesystem::absolute(config_path).lexically_normal().string() + ": cannot read";
        bool missing = std::string_view(e.what()).rfind(unread, 0) == 0;
        std::fprintf(stderr, "lonreply: %s%s\n", e.what(),
                     missing ? lon::link::config_hint : "");
        return 2;
    }
    if (cfg.hosts.find(peer) == nullptr || peer == cfg.host_id) {
        std::fprintf(stderr, "lonreply: %s is not a peer in %s\n", peer.c_str(),
                     cfg.hosts_file.c_str());
        return 2;
    }
    std::string path = (cfg.paths.socket_dir / peer).string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        std::fprintf(stderr, "lonreply: socket path too long: %s\n", path.c_str());
        return 2;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    lon::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        // No reply line: nothing was sent, and con_lost would read as a failed delivery.
        int err = errno;
        if (err == ENOENT || err == ECONNREFUSED) {
            if (pid_t pid = running_lonc(cfg); pid > 0) {
                std::fprintf(stderr,
                             "lonreply: lonc (pid %d) does not serve %s (%s: %s); if %s was "
                             "added to the hosts table, run `loncontrol reload --config %s`\n",
                             static_cast<int>(pid), peer.c_str(), path.c_str(),
                             std::strerror(err), peer.c_str(), cfg.file.c_str());
            } else {
                std::fprintf(stderr,
                             "lonreply: lonc is not running on this host (%s: %s); start it "
                             "with `loncontrol start --config %s`\n",
                             path.c_str(), std::strerror(err), cfg.file.c_str());
            }
        } else {
            std::fprintf(stderr, "lonreply: cannot reach lonc at %s: %s\n", path.c_str(),
                         std::strerror(err));
        }
        return 1;
    }
    if (!write_all(fd.get(), request + "\n")) {
        std::fprintf(stderr, "lonreply: write to %s: %s\n", path.c_str(), std::strerror(errno));
        std::puts(std::string(lon::proto::replies::con_lost).c_str());
        return 1;
    }
    std::string reply;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    char buf[65536];
    for (;;) {
        if (timeout_s > 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
            pollfd p{fd.get(), POLLIN, 0};
            if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0) {
                std::fprintf(stderr, "lonreply: no reply within %d s\n", timeout_s);
                std::puts(std::string(lon::proto::replies::con_lost).c_str());
                return 1;
            }
        }
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            std::fprintf(stderr, "lonreply: lonc closed the connection without a reply\n");
            std::puts(std::string(lon::proto::replies::con_lost).c_str());
            return 1;
        }
        reply.append(buf, static_cast<std::size_t>(n));
        if (auto nl = reply.find('\n'); nl != std::string::npos) {
            reply.resize(nl);
            break;
        }
    }
    std::puts(reply.c_str());
    return is_failure(reply) ? 1 : 0;
}
