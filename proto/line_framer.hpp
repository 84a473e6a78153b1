#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lon::proto {

/// Splits a byte stream into '\n'-terminated lines with a length limit. Pure: bytes in,
/// lines out. A line longer than `max_line` (not counting the '\n') is reported once as
/// too_long; the framer then discards its remaining bytes up to and including the next '\n'
/// and goes on with the following line.
class LineFramer {
public:
    enum class Status { line, need_more, too_long };
    struct Result {
        Status status;
        std::string line; ///< the line without '\n' (a trailing '\r' is kept), when status==line
    };

    explicit LineFramer(std::size_t max_line) : max_line_(max_line) {}

    /// Appends received bytes.
    void feed(std::string_view bytes);
    /// The next complete line, or need_more, or too_long (once per overlong line).
    [[nodiscard]] Result next();
    /// next() without a copy: the line is a view into the framer's buffer, valid until the
    /// next call that changes the framer (feed, next, next_view, finish, take_buffered,
    /// release_room). For a caller that is done with the line before it asks for more (a
    /// line copied out costs an allocation per line).
    struct View {
        Status status;
        std::string_view line;
    };
    [[nodiscard]] View next_view();
    /// At end of input, once next() says need_more: the unterminated tail as a last line
    /// (status line), or need_more when there is none (nothing buffered, or the tail belongs
    /// to an overlong line already reported). Empties the framer.
    [[nodiscard]] Result finish();
    /// Whether a complete line (or the end of an overlong one) is buffered: next() would not
    /// say need_more. Lets a caller tell the last line of a burst from the ones before it.
    [[nodiscard]] bool has_line() const;
    /// Bytes buffered that belong to no returned line yet.
    [[nodiscard]] std::size_t buffered() const;
    /// Removes and returns the buffered bytes (e.g. to hand them to another process).
    [[nodiscard]] std::string take_buffered();
    [[nodiscard]] std::size_t max_line() const { return max_line_; }
    /// Where the buffered bytes are stored (tests check that a large line is not copied).
    [[nodiscard]] const char* storage() const { return buf_.data(); }
    /// Gives back the room kept for a next line when nothing is buffered (a link that has
    /// gone quiet after large messages: HeapKeeper); the next line grows a buffer again.
    void release_room();
    /// Bytes of memory the framer holds (tests check what it keeps between messages).
    [[nodiscard]] std::size_t capacity() const { return buf_.capacity(); }

private:
    /// Lines from this size on leave by moving the buffer out rather than by copy.
    static constexpr std::size_t move_threshold = 16 * 1024;
    /// Room kept while nothing is buffered: more is given back, so that a long-lived link
    /// does not hold the room of its largest message after a burst (README, large messages).
    static constexpr std::size_t kept_capacity = 4 * 1024 * 1024;
    std::size_t max_line_;
    std::string buf_;
    std::size_t start_ = 0;    ///< first unconsumed byte in buf_
    std::size_t scanned_ = 0;  ///< bytes after start_ already known to hold no '\n'
    bool discarding_ = false;  ///< inside an overlong line already reported
};

} // namespace lon::proto
