// The end of a stream is seen even when it arrives together with the last bytes: the peer
// writes its last line and closes (or is killed and its kernel resets the connection) while
// the reader sleeps, so one epoll edge announces both. Asio's reactor is edge-triggered; a
// reader that, after a short read, waited for the next edge instead of asking the kernel
// again (the EAGAIN recv that costs a system call per wakeup) would never see that end: a
// half-closed local client would wait forever for its reply to be followed by a close, and
// a link would not notice a dead peer until its next write. Guards any attempt to skip that
// recv (bench/README.md, "Reads that ask the kernel twice", tried one). Real sockets: TCP on
// loopback as the links use, a unix socketpair as local clients use; one io_context.

#include <array>
#include <chrono>
#include <string>
#include <system_error>

#include <asio.hpp>
#include <catch2/catch.hpp>

namespace {

using namespace std::chrono_literals;

/// What a reader saw: the bytes, and whether (and how) the stream ended.
struct Seen {
    std::string data;
    bool ended = false;
    std::error_code end;
    std::array<char, 4096> buf{};
};

/// Reads from `s` until end of stream or error, starting each read from the last one's
/// handler (as LineSession does).
template <class Socket>
void read_all(Socket& s, Seen& seen) {
    s.async_read_some(asio::buffer(seen.buf), [&s, &seen](std::error_code ec, std::size_t n) {
        seen.data.append(seen.buf.data(), n);
        if (ec) {
            seen.ended = true;
            seen.end = ec;
            return;
        }
        read_all(s, seen);
    });
}

/// Runs `io` until `done` or 3 s have passed.
template <class Pred>
bool run_until(asio::io_context& io, Pred done) {
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.run_for(20ms);
        io.restart();
    }
    return done();
}

/// `reader` reads everything from now on into `seen`; `peer` sends a first line, and this
/// returns once it was read: the socket is empty again and the reader's next read is queued.
template <class Socket>
void read_first_line(asio::io_context& io, Socket& peer, Socket& reader, Seen& seen) {
    read_all(reader, seen);
    asio::write(peer, asio::buffer(std::string("first\n")));
    REQUIRE(run_until(io, [&] { return seen.data == "first\n"; }));
    CHECK_FALSE(seen.ended);
}

/// A TCP connection on loopback (an ephemeral port) whose reader has read a first line.
struct TcpLink {
    asio::io_context io;
    asio::ip::tcp::socket peer{io};
    asio::ip::tcp::socket reader{io};
    Seen seen;
    TcpLink() {
        asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        peer.connect(acceptor.local_endpoint());
        acceptor.accept(reader);
        read_first_line(io, peer, reader, seen);
    }
};

} // namespace

TEST_CASE("stream_end: a TCP link's last bytes and FIN arriving together after a drained "
          "read: both are seen",
          "[stream_end]") {
    TcpLink t;

    // Last line and FIN, both in the reader's socket before its reactor looks again.
    asio::write(t.peer, asio::buffer(std::string("last\n")));
    t.peer.shutdown(asio::ip::tcp::socket::shutdown_send);
    REQUIRE(run_until(t.io, [&] { return t.seen.ended; }));
    CHECK(t.seen.data == "first\nlast\n");
    CHECK(t.seen.end == asio::error::eof);
}

TEST_CASE("stream_end: a reset that comes with the last bytes is seen", "[stream_end]") {
    TcpLink t;

    // Data, then a close with unread data of its own on the peer's side: the kernel sends a
    // reset (SO_LINGER 0 makes it one whatever the peer had read).
    asio::write(t.peer, asio::buffer(std::string("last\n")));
    t.peer.set_option(asio::socket_base::linger(true, 0));
    t.peer.close();
    REQUIRE(run_until(t.io, [&] { return t.seen.ended; }));
    CHECK(t.seen.end); // the reset, or the FIN if the last bytes were taken first
}

TEST_CASE("stream_end: a unix client's last line and FIN arriving together: both are seen",
          "[stream_end]") {
    asio::io_context io;
    asio::local::stream_protocol::socket reader(io);
    asio::local::stream_protocol::socket peer(io);
    asio::local::connect_pair(reader, peer);

    Seen seen;
    read_first_line(io, peer, reader, seen);

    asio::write(peer, asio::buffer(std::string("last\n")));
    peer.shutdown(asio::local::stream_protocol::socket::shutdown_send);
    REQUIRE(run_until(io, [&] { return seen.ended; }));
    CHECK(seen.data == "first\nlast\n");
    CHECK(seen.end == asio::error::eof);
}
