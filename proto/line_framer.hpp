#pragma once

#include <cstddef>
#include <span>
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
    /// Room for `n` bytes after the buffered ones, lent for a read straight into the framer
    /// (no copy from a read buffer: a large message is otherwise copied once more on
    /// arrival); commit(k) then appends the first k of them (commit(0) after a read that
    /// failed). Until commit the room stays where it is: lines may be taken meanwhile
    /// (next, next_view, finish, take_buffered, release_room) but none of them moves or
    /// frees the storage (a large line is then copied out rather than moved); feed and
    /// prepare must wait for the commit. New room is zero-filled once (std::string has no
    /// uninitialised resize before C++23), so this pays for a message that fills room the
    /// framer already holds (room() >= n), or a large one already arriving.
    [[nodiscard]] std::span<char> prepare(std::size_t n);
    void commit(std::size_t n);
    /// While prepare's room is lent and nothing is buffered: the allocation (up to its
    /// capacity: malloc may have handed over pages another message dirtied) before and after
    /// the lent room, which hold no byte of any line, so their pages may be given back
    /// (room may read as zeroes). Else both empty. Never the lent room itself: a read may
    /// have filled it before its completion runs (Asio tries a recv when the read starts;
    /// Transport decrypts records it already holds at once).
    struct Unused {
        std::span<char> before;
        std::span<char> after;
    };
    [[nodiscard]] Unused unused_storage() {
        if (!lent_ || start_ != end_) {
            return {};
        }
        const std::size_t lent_end = lent_at_ + lent_size_;
        return {{buf_.data(), lent_at_}, {buf_.data() + lent_end, buf_.capacity() - lent_end}};
    }
    /// Bytes prepare can give without growing the buffer (room made before, or left by
    /// lines taken).
    [[nodiscard]] std::size_t room() const {
        return buf_.size() - end_ + (compacts() ? start_ : 0);
    }
    /// The next complete line, or need_more, or too_long (once per overlong line).
    [[nodiscard]] Result next();
    /// next() without a copy: the line is a view into the framer's buffer, valid until the
    /// next call that changes the framer (feed, prepare, next, next_view, finish,
    /// take_buffered, release_room). For a caller that is done with the line before it asks
    /// for more (a line copied out costs an allocation per line).
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
    /// Whether compact() moves the unconsumed bytes to the front: only when the consumed
    /// prefix dominates the buffer, so many small lines cost no per-line move.
    [[nodiscard]] bool compacts() const { return start_ > 0 && start_ >= end_ / 2; }
    void compact();
    /// The bytes received so far (consumed ones included), without the room after them.
    [[nodiscard]] std::string_view received() const { return {buf_.data(), end_}; }
    /// Drops the buffered bytes (not the state of an overlong line being discarded);
    /// `give_back` also frees the room.
    void reset(bool give_back);

    std::size_t max_line_;
    /// Bytes [0, end_) are received; [end_, size()) is room, zero-filled once when made.
    std::string buf_;
    std::size_t end_ = 0;
    std::size_t start_ = 0;    ///< first unconsumed byte in buf_
    std::size_t scanned_ = 0;  ///< bytes after start_ already known to hold no '\n'
    bool discarding_ = false;  ///< inside an overlong line already reported
    bool lent_ = false;        ///< prepare's room is being filled: storage must stay
    std::size_t lent_at_ = 0;  ///< where that room starts
    std::size_t lent_size_ = 0;
};

} // namespace lon::proto
