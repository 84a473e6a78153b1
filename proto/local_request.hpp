#pragma once

#include <cstddef>
#include <string_view>

/// What lonc does with one line from a local client (its unix socket), before anything
/// touches the queue, the spool or a link. Pure.
namespace lon::proto {

/// The most a tag adds to a request on the wire: 20 digits and one space.
inline constexpr std::size_t max_tag_overhead = 21;
/// The longest id lonc may give a durable request (see valid_critical_id).
inline constexpr std::size_t max_critical_id = 64;

/// The longest plain local request that, tagged, still fits in `max_message_bytes`.
[[nodiscard]] std::size_t max_local_request(std::size_t max_message_bytes);
/// The longest `<request>` of `lonc:critical:<request>` that, as
/// `<tag> critical:<id>:<request>`, still fits in `max_message_bytes`.
[[nodiscard]] std::size_t max_durable_request(std::size_t max_message_bytes);

enum class LocalKind {
    plain,        ///< send `body` (the whole line) to the peer
    lonc_command, ///< `lonc:...` answered by lonc itself (body: the whole line)
    durable,      ///< `lonc:critical:<body>`: spool, then send
    too_long,     ///< would be over max_message_bytes on the wire: error:too_long
    bad_request,  ///< a `critical:` or `critical_ack:` line (only lonc puts those on the
                  ///< wire), or one nested in `lonc:critical:`: error:bad_request
};

struct LocalRequest {
    LocalKind kind;
    std::string_view body; ///< borrows from the line
};

[[nodiscard]] LocalRequest classify_local(std::string_view line, std::size_t max_message_bytes);

} // namespace lon::proto
