#include "line_framer.hpp"

namespace lon::proto {

void LineFramer::feed(std::string_view bytes) {
    // Compact lazily: only when the consumed prefix dominates the buffer, so many small
    // lines cost no per-line erase.
    if (start_ > 0 && start_ >= buf_.size() / 2) {
        buf_.erase(0, start_);
        start_ = 0;
    }
    buf_.append(bytes);
}

LineFramer::View LineFramer::next_view() {
    for (;;) {
        std::size_t from = start_ + scanned_;
        std::size_t nl = buf_.find('\n', from);
        if (discarding_) {
            if (nl == std::string::npos) {
                // Drop what we hold of the overlong line; keep nothing.
                buf_.clear();
                start_ = 0;
                scanned_ = 0;
                return {Status::need_more, {}};
            }
            start_ = nl + 1;
            scanned_ = 0;
            discarding_ = false;
            continue;
        }
        if (nl == std::string::npos) {
            scanned_ = buf_.size() - start_;
            if (scanned_ > max_line_) {
                discarding_ = true;
                return {Status::too_long, {}};
            }
            if (scanned_ == 0 && buf_.capacity() > kept_capacity) {
                // Between messages: the room a large line left (or reserved for the next
                // one) goes back; a next large line grows a buffer again.
                std::string().swap(buf_);
                start_ = 0;
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
        return {Status::line, std::string_view(buf_).substr(at, len)};
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
    std::size_t rest = buf_.size() - (nl + 1);
    if (len >= move_threshold && rest < len) {
        // A large line: hand the buffer itself over and keep a copy of the (smaller) rest,
        // instead of copying the line out (a 1 MiB line would cost a 1 MiB copy).
        // The next line may be as large: room for it now, so that feeding it does not
        // copy it again and again while the buffer grows.
        std::string next;
        if (rest > 0 || buf_.capacity() <= kept_capacity) {
            next.reserve(buf_.capacity()); // else given back at the next need_more anyway
        }
        next.append(buf_, nl + 1);
        Result r{Status::line, std::move(buf_)};
        r.line.resize(nl);
        r.line.erase(0, at);
        buf_ = std::move(next);
        start_ = 0;
        scanned_ = 0;
        return r;
    }
    return {Status::line, std::string(v.line)};
}

bool LineFramer::has_line() const {
    std::size_t from = start_ + scanned_;
    return from < buf_.size() && buf_.find('\n', from) != std::string::npos;
}

LineFramer::Result LineFramer::finish() {
    Result r{Status::need_more, {}};
    if (!discarding_ && start_ < buf_.size()) {
        std::size_t len = buf_.size() - start_;
        if (len > max_line_) {
            r.status = Status::too_long;
        } else {
            r = Result{Status::line, buf_.substr(start_)};
        }
    }
    buf_.clear();
    start_ = 0;
    scanned_ = 0;
    discarding_ = false;
    return r;
}

namespace {

/// Where the bytes that belong to no line start: `start` normally; while an overlong line is
/// being discarded, just after its '\n' (or the end when that has not arrived yet).
std::size_t first_kept(const std::string& buf, std::size_t start, bool discarding) {
    if (!discarding) {
        return start;
    }
    auto nl = buf.find('\n', start);
    return nl == std::string::npos ? buf.size() : nl + 1;
}

} // namespace

std::size_t LineFramer::buffered() const {
    return buf_.size() - first_kept(buf_, start_, discarding_);
}

std::string LineFramer::take_buffered() {
    std::string out = buf_.substr(first_kept(buf_, start_, discarding_));
    buf_.clear();
    start_ = 0;
    scanned_ = 0;
    discarding_ = false;
    return out;
}

void LineFramer::release_room() {
    if (buf_.size() == start_) {
        std::string().swap(buf_);
        start_ = 0;
        scanned_ = 0;
    }
}

} // namespace lon::proto
