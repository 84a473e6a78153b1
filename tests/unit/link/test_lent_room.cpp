// A read lent room in a framer (LineFramer::prepare) may have filled it before its
// completion handler runs: Asio tries a recv as soon as the read starts, and Transport
// decrypts records it already holds at once. HeapKeeper's give-back, queued in between,
// must leave those bytes alone (LineSession::release_room -> give_back_room).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <system_error>

#include <asio.hpp>

#include "heap.hpp"
#include "line_framer.hpp"

TEST_CASE("bytes a read put in the lent room before its completion survive a give-back",
          "[lent_room]") {
    constexpr std::size_t mib = 1024 * 1024;
    asio::io_context io;
    asio::local::stream_protocol::socket a(io);
    asio::local::stream_protocol::socket b(io);
    asio::local::connect_pair(a, b);
    lon::proto::LineFramer f(4 * mib);
    { // room a large message left: 1 MiB, all consumed
        auto r = f.prepare(mib);
        f.commit(0);
        (void)r;
    }
    const std::string msg = std::string(100000, 'm') + "\n";
    asio::write(b, asio::buffer(msg)); // already there when the next read starts

    std::size_t got = 0;
    asio::post(io, [&] { // a read handler that starts the next read, into the framer's room
        auto room = f.prepare(64 * 1024);
        a.async_read_some(asio::buffer(room.data(), room.size()),
                          [&](std::error_code ec, std::size_t n) {
                              REQUIRE_FALSE(ec);
                              f.commit(n);
                              got = n;
                          });
    });
    asio::post(io, [&] { // HeapKeeper::give_back, queued behind it (LineSession::release_room)
        lon::link::give_back_room(f);
    });
    io.run();
    REQUIRE(got > 0);
    const std::string bytes = f.take_buffered();
    REQUIRE(bytes.size() == got);
    CHECK(std::count(bytes.begin(), bytes.end(), 'm') == static_cast<long>(got));
}
