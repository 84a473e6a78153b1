#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Durable ("critical") requests on the wire and on disk. Pure.
///
/// lonc sends `critical:<id>:<request>`, <id> 128 random bits as 32 lowercase hex digits.
/// lond records "started" under the id durably before it runs <request>, and the reply once it
/// has one: a repeat of the id is answered from the record (or error:indeterminate when the
/// run started but its outcome was lost), so <request> runs at most once. Once lonc has
/// removed a request from its spool it acknowledges the id with `critical_ack:<id>[&<id>...]`
/// (answered `ok`), and lond deletes the record.
namespace lon::proto {

/// Bytes of randomness in an id lonc makes.
inline constexpr std::size_t critical_id_bytes = 16;
/// Most ids in one critical_ack line.
inline constexpr std::size_t max_ack_ids = 64;
/// lond's answer to a durable request whose run started but whose outcome was lost.
inline constexpr std::string_view indeterminate = "error:indeterminate";
/// lond's answer when it could not record the start durably (it did not run the request);
/// lonc keeps the request spooled and sends it again later.
inline constexpr std::string_view not_recorded = "error:not_recorded";

struct Critical {
    std::string_view id;
    std::string_view request;
};

/// Ids are [A-Za-z0-9_-]{1,64} (they name files on both sides). lonc makes 32 lowercase
/// hex digits; lond accepts any valid id (spools written by older versions).
[[nodiscard]] bool valid_critical_id(std::string_view id);
/// The id for 16 random bytes: 32 lowercase hex digits.
[[nodiscard]] std::string format_critical_id(const std::array<std::uint8_t, critical_id_bytes>& random);
[[nodiscard]] std::string format_critical(std::string_view id, std::string_view request);
/// Whether `body` is a durable request (its command word is `critical`). Durable requests
/// do not nest: an inner request for which this holds is refused (error:bad_request).
[[nodiscard]] bool is_critical(std::string_view body);
/// nullopt unless `body` is `critical:<valid id>:<request>` (one level: `request` is not
/// parsed further).
[[nodiscard]] std::optional<Critical> parse_critical(std::string_view body);

/// Whether `body`'s command word is `critical_ack` (only lonc sends it, only on a peer link).
[[nodiscard]] bool is_critical_ack(std::string_view body);
/// `critical_ack:<id>&<id>...`; the caller passes 1..max_ack_ids valid ids.
[[nodiscard]] std::string format_critical_ack(const std::vector<std::string>& ids);
/// The ids of `critical_ack:<id>[&<id>...]`: nullopt unless there are 1..max_ack_ids of
/// them, each valid.
[[nodiscard]] std::optional<std::vector<std::string_view>> parse_critical_ack(std::string_view body);

/// A record lond keeps per durable request id.
struct CriticalRecord {
    enum class State { started, done };
    State state = State::started;
    std::string_view reply; ///< when done
};
/// "started\n": written durably before the request runs.
[[nodiscard]] std::string format_record_started();
/// "done\n<reply>": written durably once the request has its reply.
[[nodiscard]] std::string format_record_done(std::string_view reply);
/// Reads a record. Text that is neither form is a reply recorded by an older lond (which
/// recorded only the reply, and never a newline: replies hold none).
[[nodiscard]] CriticalRecord parse_record(std::string_view text);

/// A spooled request's file name in lonc's spool: `<seq>-<id>`, seq 20 decimal digits
/// (delivery order: oldest first), id the wire id.
struct SpoolName {
    std::uint64_t seq = 0;
    std::string_view id;
};
[[nodiscard]] std::string format_spool_name(std::uint64_t seq, std::string_view id);
/// nullopt for a name that is not a spool entry (a temp file). A bare valid id (a spool
/// written by an older lonc, whose ids sorted by time) parses as seq 0 and that id.
[[nodiscard]] std::optional<SpoolName> parse_spool_name(std::string_view name);

} // namespace lon::proto
