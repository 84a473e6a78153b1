#include "line_framer.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace lon::proto {

void LineFramer::compact() {
    if (compacts()) {
        std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
        end_ -= start_;
        start_ = 0;
    }
}

void LineFramer::feed(std::string_view bytes) {
    assert(!lent_); // the bytes would land where the pending read writes
    compact();
    if (room() >= bytes.size()) {
        bytes.copy(buf_.data() + end_, bytes.size());
    } else {
        // Grows the buffer without zero-filling room the bytes fill at once.
        buf_.resize(end_);
        buf_.append(bytes);
    }
    end_ += bytes.size();
}

std::span<char> LineFramer::prepare(std::size_t n) {
    assert(!lent_); // one read at a time
    compact();
    if (room() < n) {
        if (end_ + n > buf_.capacity()) {
            // The storage moves: only the received bytes go along, into room for a few
            // more reads of this size (as append's growth would give).
            buf_.resize(end_);
            buf_.reserve(std::max(end_ + n, 2 * buf_.capacity()));
        }
        buf_.resize(end_ + n);
    }
    lent_ = true;
    lent_at_ = end_;
    lent_size_ = n;
    return {buf_.data() + end_, n};
}

void LineFramer::commit(std::size_t n) {
    if (!lent_) {
        return;
    }
    lent_ = false;
    n = std::min(n, lent_size_);
    if (end_ != lent_at_) {
        // Lines were taken or dropped meanwhile (end_ only moves down while room is lent):
        // the bytes go where the buffered ones now end.
        std::memmove(buf_.data() + end_, buf_.data() + lent_at_, n);
    }
    end_ += n;
}

void LineFramer::reset(bool give_back) {
    if (give_back && !lent_) { // lent room stays where the read writes it
        std::string().swap(buf_);
    }
    end_ = 0;
    start_ = 0;
    scanned_ = 0;
}

LineFramer::View LineFramer::next_view() {
    for (;;) {
        std::size_t from = start_ + scanned_;
        std::size_t nl = received().find('\n', from);
        if (discarding_) {
            if (nl == std::string::npos) {
                reset(false); // drop what we hold of the overlong line (keep the room)
                return {Status::need_more, {}};
            }
            start_ = nl + 1;
            scanned_ = 0;
            discarding_ = false;
            continue;
        }
        if (nl == std::string::npos) {
            scanned_ = end_ - start_;
            if (scanned_ > max_line_) {
                discarding_ = true;
                return {Status::too_long, {}};
            }
            if (scanned_ == 0 && buf_.capacity() > kept_capacity) {
                // Between messages: the room a large line left (or reserved for the next
                // one) goes back (kept while a read is lent room in it: reset); a next
                // large line grows a buffer again.
                reset(true);
            }
            return {Status::need_more, {}};
        }
        std::size_t len = nl - start_;
        if (len > max_line_) {
            start_ = nl + 1;
            scanned_ = 0;
            return {Status::too_long, {}};
        }
        std::size_t at = start_;
        start_ = nl + 1;
        scanned_ = 0;
        return {Status::line, received().substr(at, len)};
    }
}

LineFramer::Result LineFramer::next() {
    View v = next_view();
    if (v.status != Status::line) {
        return {v.status, {}};
    }
    // The line is still in buf_, just before the '\n' that start_ has moved past.
    auto at = static_cast<std::size_t>(v.line.data() - buf_.data());
    std::size_t len = v.line.size();
    std::size_t nl = at + len;
    std::size_t rest = end_ - (nl + 1);
    if (len >= move_threshold && rest < len && !lent_) {
        // A large line: hand the buffer itself over and keep a copy of the (smaller) rest,
        // instead of copying the line out (a 1 MiB line would cost a 1 MiB copy).
        // The next line may be as large: room for it now, so that feeding it does not
        // copy it again and again while the buffer grows.
        std::string next;
        if (rest > 0 || buf_.capacity() <= kept_capacity) {
            next.reserve(buf_.capacity()); // else given back at the next need_more anyway
        }
        next.append(buf_, nl + 1, rest);
        Result r{Status::line, std::move(buf_)};
        r.line.resize(nl);
        r.line.erase(0, at);
        buf_ = std::move(next);
        end_ = rest;
        start_ = 0;
        scanned_ = 0;
        return r;
    }
    return {Status::line, std::string(v.line)};
}

bool LineFramer::has_line() const {
    std::size_t from = start_ + scanned_;
    return from < end_ && received().find('\n', from) != std::string::npos;
}

LineFramer::Result LineFramer::finish() {
    Result r{Status::need_more, {}};
    if (!discarding_ && start_ < end_) {
        std::size_t len = end_ - start_;
        if (len > max_line_) {
            r.status = Status::too_long;
        } else {
            r = Result{Status::line, buf_.substr(start_, len)};
        }
    }
    reset(false);
    discarding_ = false;
    return r;
}

namespace {

/// Where the bytes that belong to no line start: `start` normally; while an overlong line is
/// being discarded, just after its '\n' (or the end when that has not arrived yet).
std::size_t first_kept(std::string_view buf, std::size_t start, bool discarding) {
    if (!discarding) {
        return start;
    }
    auto nl = buf.find('\n', start);
    return nl == std::string_view::npos ? buf.size() : nl + 1;
}

} // namespace

std::size_t LineFramer::buffered() const {
    return end_ - first_kept(received(), start_, discarding_);
}

std::string LineFramer::take_buffered() {
    std::size_t first = first_kept(received(), start_, discarding_);
    std::string out = buf_.substr(first, end_ - first);
    reset(false);
    discarding_ = false;
    return out;
}

void LineFramer::release_room() {
    if (end_ == start_) {
        reset(true);
    }
}

} // namespace lon::proto
