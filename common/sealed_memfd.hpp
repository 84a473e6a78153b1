#pragma once

// Immutable in-memory files (memfd_create + F_SEAL_*): how a parent hands its children the
// bundle it validated (bundle.hpp). Only holders of the descriptor can read it (no path on
// disk; mode 0400 for /proc/<pid>/fd), and the seals guarantee that the bytes a child reads
// are the ones the parent wrote, whoever else holds a copy of the descriptor.

#include <string>
#include <string_view>
#include <system_error>

#include "unique_fd.hpp"

namespace lon {

/// A close-on-exec memfd named `name` holding `bytes`, sealed against writes, growth,
/// shrinking and further seal changes. Invalid (and `ec` set) on failure.
[[nodiscard]] UniqueFd make_sealed_memfd(const char* name, std::string_view bytes,
                                         std::error_code& ec);

/// The whole contents of `fd` (read with pread: the file offset is shared with other
/// holders) if it carries the seals make_sealed_memfd sets and holds at most `max_bytes`;
/// else "" with `ec` set (EPERM: not sealed, EFBIG: too large).
[[nodiscard]] std::string read_sealed_memfd(int fd, std::size_t max_bytes, std::error_code& ec);

} // namespace lon
