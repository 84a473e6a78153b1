#include "listener.hpp"

#include <csignal>

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "fd_passing.hpp"
#include "net.hpp"
#include "proctitle.hpp"
#include "spawn.hpp"
#include "titles.hpp"

namespace lon::lond {
namespace {

/// Reads the init line of one fresh connection: at most max_init_line bytes plus '\n',
/// within handshake_timeout; then asks the Listener what to do with it.
class InitReader final : public std::enable_shared_from_this<InitReader> {
public:
    InitReader(Listener& owner, asio::ip::tcp::socket socket)
        : owner_(owner), socket_(std::move(socket)), timer_(socket_.get_executor()),
          ip_(link::remote_ip(socket_)) {}

    void start() {
        timer_.expires_after(owner_.config().limits.handshake_timeout);
        timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec && self->socket_.is_open()) {
                spdlog::info("closing connection from {}: no init line within the handshake "
                             "timeout",
                             self->ip_);
                std::error_code ignored;
                self->socket_.close(ignored);
            }
        });
        do_read();
    }

private:
    void do_read() {
        socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](
                                                          std::error_code ec, std::size_t n) {
            self->on_read(ec, n);
        });
    }

    void on_read(std::error_code ec, std::size_t n) {
        if (ec) {
            if (!link::is_shutdown(ec)) {
                spdlog::debug("connection from {} ended before init: {}", ip_, ec.message());
            }
            timer_.cancel();
            return;
        }
        std::size_t scanned = bytes_.size();
        bytes_.append(chunk_.data(), n);
        auto nl = bytes_.find('\n', scanned);
        if (nl == std::string::npos) {
            if (bytes_.size() > proto::max_init_line) {
                spdlog::warn("refused {}: init line longer than {} bytes", ip_,
                             proto::max_init_line);
                finish_refused("refused:bad_init\n");
                return;
            }
            do_read();
            return;
        }
        if (nl > proto::max_init_line) {
            spdlog::warn("refused {}: init line longer than {} bytes", ip_, proto::max_init_line);
            finish_refused("refused:bad_init\n");
            return;
        }
        timer_.cancel();
        std::string line = bytes_.substr(0, nl);
        owner_.on_init_line(socket_, line, std::move(bytes_));
    }

    void finish_refused(const char* answer) {
        timer_.cancel();
        std::error_code ignored;
        asio::write(socket_, asio::buffer(std::string_view(answer)), ignored);
        socket_.close(ignored);
    }

    Listener& owner_;
    asio::ip::tcp::socket socket_;
    asio::steady_timer timer_;
    std::string ip_;
    std::array<char, 2048> chunk_{};
    std::string bytes_;
};

} // namespace

Listener::Listener(asio::io_context& io, Config config, UniqueFd listen_fd, bool foreground)
    : io_(io), config_(std::move(config)), foreground_(foreground), acceptor_(io),
      signals_(io), reaper_(io, [this](pid_t pid, int status) { on_child_exit(pid, status); }),
      kill_timer_(io) {
    auto ip = asio::ip::make_address(config_.listen_address);
    acceptor_.assign(ip.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(),
                     listen_fd.release());
}

void Listener::start() {
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) {
        signals_.add(sig);
    }
    handle_signals();
    update_title();
    do_accept();
}

void Listener::do_accept() {
    acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
        if (stopping_ || link::is_shutdown(ec)) {
            return;
        }
        if (ec) {
            // EMFILE and friends: a local fault; log and keep accepting after a breath.
            spdlog::error("accept: {}", ec.message());
        } else {
            std::make_shared<InitReader>(*this, std::move(socket))->start();
        }
        do_accept();
    });
}

std::optional<proto::Refusal> Listener::check(const proto::InitLine& init,
                                              const std::string& ip) const {
    if (init.version != proto::protocol_version) {
        return proto::Refusal::version;
    }
    if (init.server_id != config_.host_id) {
        return proto::Refusal::wrong_server;
    }
    const Host* host = config_.hosts.find(init.client_id);
    if (host == nullptr) {
        return proto::Refusal::unknown_host;
    }
    if (!HostTable::has_address(*host, ip)) {
        return proto::Refusal::address_mismatch;
    }
    return std::nullopt;
}

void Listener::on_init_line(asio::ip::tcp::socket& socket, const std::string& line,
                            std::string bytes) {
    std::string ip = link::remote_ip(socket);
    auto init = proto::parse_init(line);
    if (!init) {
        spdlog::warn("refused {}: malformed init line", ip);
        refuse(socket, proto::Refusal::bad_init);
        return;
    }
    if (auto reason = check(*init, ip)) {
        spdlog::warn("refused {} claiming {}: {}", ip, init->client_id, proto::to_string(*reason));
        refuse(socket, *reason);
        return;
    }
    if (stopping_) {
        refuse(socket, proto::Refusal::busy);
        return;
    }
    hand_off(init->client_id, socket, bytes);
}

void Listener::refuse(asio::ip::tcp::socket& socket, proto::Refusal reason) {
    // A few bytes on a fresh socket: the kernel buffer takes them at once.
    std::string answer = proto::format_answer(proto::refuse(reason)) + "\n";
    std::error_code ignored;
    asio::write(socket, asio::buffer(answer), ignored);
    socket.shutdown(asio::socket_base::shutdown_both, ignored);
    socket.close(ignored);
}

void Listener::hand_off(const std::string& peer, asio::ip::tcp::socket& socket,
                        const std::string& bytes) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto it = children_.find(peer);
        Child* child = it != children_.end() ? &it->second : spawn_child(peer);
        if (child == nullptr) {
            refuse(socket, proto::Refusal::busy);
            return;
        }
        std::error_code ec = link::send_fd(child->channel.get(), socket.native_handle(), bytes);
        if (!ec) {
            std::error_code ignored;
            socket.close(ignored); // the child has its own copy now
            return;
        }
        if (ec == std::errc::resource_unavailable_try_again) {
            spdlog::warn("lond child for {} is not keeping up; refusing a connection", peer);
            refuse(socket, proto::Refusal::busy);
            return;
        }
        // The child is gone (not reaped yet): forget it and start a new one.
        spdlog::warn("lond child for {} (pid {}) unreachable: {}", peer, child->pid, ec.message());
        ::kill(child->pid, SIGTERM);
        children_.erase(peer);
    }
    refuse(socket, proto::Refusal::busy);
}

Listener::Child* Listener::spawn_child(const std::string& peer) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        spdlog::error("socketpair: {}", std::strerror(errno));
        return nullptr;
    }
    UniqueFd ours(sv[0]);
    UniqueFd theirs(sv[1]);
    std::vector<std::string> args{"--config", config_.file.string(), "--role", "peer",
                                  "--peer", peer, "--fd", "3"};
    if (foreground_) {
        args.emplace_back("--foreground");
    }
    pid_t pid = link::spawn_self(args, {{theirs.get(), 3}});
    if (pid < 0) {
        spdlog::error("cannot start lond child for {}: {}", peer, std::strerror(errno));
        return nullptr;
    }
    spdlog::info("started lond child for {} (pid {})", peer, pid);
    auto& child = children_[peer];
    child.pid = pid;
    child.channel = std::move(ours);
    update_title();
    return &child;
}

void Listener::on_child_exit(pid_t pid, int status) {
    for (auto it = children_.begin(); it != children_.end(); ++it) {
        if (it->second.pid == pid) {
            auto level = (stopping_ || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
                             ? spdlog::level::info
                             : spdlog::level::warn;
            spdlog::log(level, "lond child for {} (pid {}) ended: {}", it->first, pid,
                        link::describe_wait_status(status));
            children_.erase(it);
            break;
        }
    }
    update_title();
    if (stopping_ && children_.empty()) {
        io_.stop();
    }
}

void Listener::handle_signals() {
    signals_.async_wait([this](std::error_code ec, int sig) {
        if (ec) {
            return;
        }
        switch (sig) {
        case SIGTERM:
        case SIGINT:
            shutdown();
            return;
        case SIGHUP:
            reload(false);
            break;
        case SIGUSR2:
            reload(true);
            break;
        default: // USR1: children write their status files
            for (auto& [peer, child] : children_) {
                ::kill(child.pid, SIGUSR1);
            }
            break;
        }
        handle_signals();
    });
}

void Listener::reload(bool prune) {
    try {
        Config fresh = load_config(config_.file);
        if (fresh.listen_address != config_.listen_address ||
            fresh.listen_port != config_.listen_port) {
            spdlog::warn("listen address changed in {}; restart lond to apply it",
                         config_.file.string());
            fresh.listen_address = config_.listen_address;
            fresh.listen_port = config_.listen_port;
        }
        config_ = std::move(fresh);
        spdlog::info("reloaded {}", config_.file.string());
    } catch (const std::exception& e) {
        spdlog::error("reload failed, keeping the old configuration: {}", e.what());
        return;
    }
    for (auto& [peer, child] : children_) {
        bool gone = config_.hosts.find(peer) == nullptr;
        if (prune && gone) {
            spdlog::info("dropping {}: no longer in the hosts table", peer);
            ::kill(child.pid, SIGTERM);
        } else {
            ::kill(child.pid, SIGHUP);
        }
    }
}

void Listener::shutdown() {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    spdlog::info("stopping");
    std::error_code ignored;
    acceptor_.close(ignored);
    signals_.cancel(ignored);
    for (auto& [peer, child] : children_) {
        ::kill(child.pid, SIGTERM);
    }
    if (children_.empty()) {
        io_.stop();
        return;
    }
    kill_timer_.expires_after(std::chrono::seconds(5));
    kill_timer_.async_wait([this](std::error_code ec) {
        if (ec) {
            return;
        }
        for (auto& [peer, child] : children_) {
            spdlog::warn("lond child for {} (pid {}) did not stop; killing it", peer, child.pid);
            ::kill(child.pid, SIGKILL);
        }
    });
}

void Listener::update_title() {
    proctitle::set(titles::lond_parent(config_.host_id, config_.listen_address,
                                       config_.listen_port, static_cast<int>(children_.size())));
}

} // namespace lon::lond
