#pragma once

// The lond parent. Place in the process tree: one per host, started by loncontrol (or by
// hand); forks (fork+exec) one lond child per peer host on that peer's first connection.
// Owns: the TCP listener, the hosts table, a control channel to each child.
// Title: "lond: parent <own-id> listening <address>:<port> peers: <children>".
// It reads only the bounded plaintext init line of each connection, checks who claims to
// call and from where, and hands the connection (fd + bytes read) to the peer's child.

#include <map>
#include <memory>
#include <string>

#include <asio.hpp>

#include "config.hpp"
#include "negotiation.hpp"
#include "reaper.hpp"
#include "unique_fd.hpp"

namespace lon::lond {

class Listener final {
public:
    Listener(asio::io_context& io, Config config, UniqueFd listen_fd, bool foreground);
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    void start();

    /// Called by an InitReader with a complete init line from `socket`. `bytes` holds every
    /// byte read so far (the line, its '\n' and anything after it).
    void on_init_line(asio::ip::tcp::socket& socket, const std::string& line,
                      std::string bytes);
    [[nodiscard]] const Config& config() const { return config_; }

private:
    struct Child {
        pid_t pid = -1;
        UniqueFd channel;
    };

    void do_accept();
    void handle_signals();
    [[nodiscard]] std::optional<proto::Refusal> check(const proto::InitLine& init,
                                                      const std::string& ip) const;
    void refuse(asio::ip::tcp::socket& socket, proto::Refusal reason);
    void hand_off(const std::string& peer, asio::ip::tcp::socket& socket,
                  const std::string& bytes);
    Child* spawn_child(const std::string& peer);
    void on_child_exit(pid_t pid, int status);
    void reload(bool prune);
    void shutdown();
    void update_title();

    asio::io_context& io_;
    Config config_;
    bool foreground_;
    asio::ip::tcp::acceptor acceptor_;
    asio::signal_set signals_;
    link::Reaper reaper_;
    asio::steady_timer kill_timer_;
    std::map<std::string, Child> children_;
    bool stopping_ = false;
};

} // namespace lon::lond
