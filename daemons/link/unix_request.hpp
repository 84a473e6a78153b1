#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>

#include <asio.hpp>

namespace lon::link {

/// Sends one request line to a local unix-socket service on a connection of its own and reads
/// one reply line back (lond's `pong` through the local lonc; lond.handler requests go through
/// HandlerPool). `done` runs exactly once, with the reply (no '\n') or an error (timeout:
/// asio::error::timed_out).
void unix_request(asio::io_context& io, const std::filesystem::path& path, std::string line,
                  std::size_t max_reply, std::chrono::milliseconds timeout,
                  std::function<void(std::error_code, std::string)> done);

} // namespace lon::link
