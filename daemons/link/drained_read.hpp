#pragma once

#include <cstddef>
#include <system_error>
#include <utility>

#include <asio.hpp>

namespace lon::link {

/// socket.async_read_some without the recv that only says EAGAIN. Asio (1.22) starts every
/// read with a speculative recv and stops doing so only after end of file, so on a
/// request/reply link every read that finds its request costs a second recv that finds
/// nothing (strace of a lonc child at 32 requests in flight: half of its recvfrom calls,
/// a quarter of all its system calls, each slow on this VM). A read that came back short
/// emptied the socket's receive queue; any byte that arrives after it raises a new epoll
/// edge, which the reactor sees on its next epoll_wait, after this thread has asked to be
/// told. So when `drained` says the last read was short, wait for readability first and
/// then read without blocking. `drained` is the caller's (one per socket), kept up to date
/// here; it must outlive the operation (the session holding it is kept alive by `handler`).
template <class Socket, class Handler>
void async_read_drained(Socket& socket, bool& drained, asio::mutable_buffer buffer,
                        Handler&& handler) {
    if (!drained) {
        socket.async_read_some(buffer, [&drained, size = buffer.size(),
                                        h = std::forward<Handler>(handler)](
                                           std::error_code ec, std::size_t n) mutable {
            drained = !ec && n < size;
            h(ec, n);
        });
        return;
    }
    socket.async_wait(Socket::wait_read, [&socket, &drained, buffer,
                                          h = std::forward<Handler>(handler)](
                                             std::error_code ec) mutable {
        std::size_t n = 0;
        if (!ec && !socket.non_blocking()) {
            socket.non_blocking(true, ec);
        }
        if (!ec) {
            n = socket.read_some(buffer, ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) {
                async_read_drained(socket, drained, buffer, std::move(h)); // woken for nothing
                return;
            }
        }
        drained = !ec && n < buffer.size();
        h(ec, n);
    });
}

} // namespace lon::link
