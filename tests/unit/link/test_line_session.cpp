// link::LineSession over a unix socketpair in one io_context (no threads): when writes
// start and how many handlers and sends they cost, and that "sent" stays exact.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <asio.hpp>
#include <catch2/catch.hpp>
#include <poll.h>

#include "line_session.hpp"

namespace {

using local_socket = asio::local::stream_protocol::socket;

/// A unix stream socket that counts the sends made on it.
class CountingSocket {
public:
    using executor_type = local_socket::executor_type;
    static constexpr auto wait_write = asio::socket_base::wait_write;

    explicit CountingSocket(local_socket s) : s_(std::move(s)) {}
    executor_type get_executor() { return s_.get_executor(); }
    template <class B, class H>
    void async_read_some(const B& b, H&& h) {
        s_.async_read_some(b, std::forward<H>(h));
    }
    template <class B>
    std::size_t write_some(const B& b, std::error_code& ec) {
        ++*sends;
        return s_.write_some(b, ec);
    }
    bool non_blocking() const { return s_.non_blocking(); }
    void non_blocking(bool on, std::error_code& ec) { s_.non_blocking(on, ec); }
    template <class H>
    void async_wait(asio::socket_base::wait_type w, H&& h) {
        s_.async_wait(w, std::forward<H>(h));
    }
    void close(std::error_code& ec) { s_.close(ec); }

    std::shared_ptr<int> sends = std::make_shared<int>(0);

private:
    local_socket s_;
};

/// Echoes every line (one message each); counts on_output_sent.
class Echo final : public lon::link::LineSession<Echo, CountingSocket> {
public:
    Echo(local_socket s) : LineSession(CountingSocket(std::move(s)), 1 << 20) {}
    void go() { start(); }
    void on_line(std::string line) { send(line + "\n", 1); }
    void on_too_long() {}
    void on_closed(const std::error_code&) {}
    void on_output_sent() { ++sent_calls; }
    int sent_calls = 0;
};

bool readable(local_socket& s) {
    pollfd p{s.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

std::string read_all(local_socket& s) {
    std::string got;
    char buf[65536];
    while (readable(s)) {
        std::error_code ec;
        std::size_t n = s.read_some(asio::buffer(buf), ec);
        if (ec || n == 0) {
            break;
        }
        got.append(buf, n);
    }
    return got;
}

/// Runs handlers one at a time until `peer` has bytes to read; returns how many ran
/// (-1 if it never became readable).
int handlers_until_readable(asio::io_context& io, local_socket& peer) {
    for (int ran = 0; ran < 50; ++ran) {
        if (readable(peer)) {
            return ran;
        }
        if (io.poll_one() == 0 && !readable(peer)) {
            io.run_one_for(std::chrono::milliseconds(200));
        }
    }
    return readable(peer) ? 50 : -1;
}

} // namespace

TEST_CASE("replies to the lines of one read leave in one send, before that read's handler "
          "returns (no posted write, no posted completion)", "[line_session]") {
    asio::io_context io;
    local_socket a(io);
    local_socket b(io);
    asio::local::connect_pair(a, b);
    asio::write(b, asio::buffer(std::string("one\ntwo\nthree\n")));
    auto s = std::make_shared<Echo>(std::move(a));
    auto sends = s->socket().sends;
    s->go();
    // The read completes in the first handler; the replies are in the kernel when it ends.
    CHECK(handlers_until_readable(io, b) == 1);
    CHECK(*sends == 1);
    CHECK(read_all(b) == "one\ntwo\nthree\n");
    CHECK(s->unsent_messages() == 0);
    CHECK(s->sent_calls == 1);
}

TEST_CASE("output queued outside a read handler is written by one posted flush for every "
          "session", "[line_session]") {
    asio::io_context io;
    local_socket a1(io), b1(io), a2(io), b2(io);
    asio::local::connect_pair(a1, b1);
    asio::local::connect_pair(a2, b2);
    auto s1 = std::make_shared<Echo>(std::move(a1));
    auto s2 = std::make_shared<Echo>(std::move(a2));
    s1->send("x\n", 1);
    s2->send("y\n", 1);
    s1->send("z\n", 1);
    CHECK(s1->unsent_messages() == 2);
    CHECK(io.poll_one() == 1); // one handler writes both sessions' output
    CHECK(read_all(b1) == "x\nz\n");
    CHECK(read_all(b2) == "y\n");
    CHECK(*s1->socket().sends == 1);
    CHECK(*s2->socket().sends == 1);
    CHECK(s1->unsent_messages() == 0);
    CHECK(s2->unsent_messages() == 0);
}

TEST_CASE("a write the kernel does not take at once counts as unsent until its last byte is "
          "handed over", "[line_session]") {
    asio::io_context io;
    local_socket a(io), b(io);
    asio::local::connect_pair(a, b);
    auto s = std::make_shared<Echo>(std::move(a));
    std::string big(4 * 1024 * 1024, 'x');
    big.back() = '\n';
    s->send(std::move(big), 1);
    s->send("tail\n", 1);
    io.poll(); // writes what the socket takes, then waits for room
    CHECK(s->unsent_messages() == 2);
    CHECK(s->sent_calls == 0);
    std::size_t got = 0;
    for (int i = 0; i < 100000 && got < 4 * 1024 * 1024 + 5; ++i) {
        got += read_all(b).size();
        io.poll();
    }
    CHECK(got == 4 * 1024 * 1024 + 5);
    io.poll();
    CHECK(s->unsent_messages() == 0);
    CHECK(s->sent_calls == 1);
}

namespace {

/// Hands every line to another session (as a lonc local session hands requests to its link).
class Relay final : public lon::link::LineSession<Relay, CountingSocket> {
public:
    Relay(local_socket s, std::shared_ptr<Echo> to)
        : LineSession(CountingSocket(std::move(s)), 1 << 20), to_(std::move(to)) {}
    void go() { start(); }
    void on_line(std::string line) { to_->send(line + "\n", 1); }
    void on_too_long() {}
    void on_closed(const std::error_code&) {}

private:
    std::shared_ptr<Echo> to_;
};

} // namespace

TEST_CASE("reads of one scheduler round: the first one's output leaves at once, the others' "
          "share one write at the end of the round", "[line_session]") {
    // C=1 wants the lone request out at once; C=64 wants the requests of the 64 clients that
    // one epoll_wait reported in one write (one TLS record) on the link, not 64.
    asio::io_context io;
    // Reads of one round follow each other within microseconds, unless the build is slow
    // (sanitizers) or the machine busy: a gap that no test run reaches.
    lon::link::OutputFlusher::of(io.get_executor()).set_round_gap(std::chrono::seconds(10));
    local_socket la(io), lb(io);
    asio::local::connect_pair(la, lb);
    auto link = std::make_shared<Echo>(std::move(la));
    auto link_sends = link->socket().sends;
    std::vector<std::shared_ptr<Relay>> clients;
    std::vector<local_socket> peers;
    for (int i = 0; i < 3; ++i) {
        local_socket a(io), b(io);
        asio::local::connect_pair(a, b);
        asio::write(b, asio::buffer(std::to_string(i) + "\n"));
        clients.push_back(std::make_shared<Relay>(std::move(a), link));
        peers.push_back(std::move(b));
    }
    for (auto& c : clients) {
        c->go(); // the data is there: each read completes in this round
    }
    std::string got;
    for (int i = 0; i < 20 && got.size() < 6; ++i) {
        io.run_one_for(std::chrono::milliseconds(100));
        got += read_all(lb);
    }
    CHECK(got == "0\n1\n2\n");
    CHECK(*link_sends == 2);
    CHECK(link->unsent_messages() == 0);
}

TEST_CASE("a read after a quiet gap flushes alone: no posted flush, no extra turn of the event "
          "loop", "[line_session]") {
    asio::io_context io;
    auto& flusher = lon::link::OutputFlusher::of(io.get_executor());
    local_socket la(io), lb(io), a(io), b(io);
    asio::local::connect_pair(la, lb);
    asio::local::connect_pair(a, b);
    auto link = std::make_shared<Echo>(std::move(la));
    auto client = std::make_shared<Relay>(std::move(a), link);
    client->go();
    asio::write(b, asio::buffer(std::string("one\n")));
    REQUIRE(handlers_until_readable(io, lb) >= 0);
    CHECK(read_all(lb) == "one\n");
    CHECK_FALSE(flusher.posted()); // the first Batch ever: nothing before it
    // The next request comes after a gap (as a lone client's next request does).
    flusher.set_round_gap(std::chrono::microseconds(0));
    asio::write(b, asio::buffer(std::string("two\n")));
    REQUIRE(handlers_until_readable(io, lb) >= 0);
    CHECK(read_all(lb) == "two\n");
    CHECK_FALSE(flusher.posted());
    // Right after a Batch (another read of the same round), the output waits for the
    // round's posted flush instead.
    flusher.set_round_gap(std::chrono::seconds(10));
    asio::write(b, asio::buffer(std::string("three\n")));
    int ran = handlers_until_readable(io, lb);
    CHECK(ran >= 2); // the read's handler, then the posted flush
    CHECK(read_all(lb) == "three\n");
}
