#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

namespace lon::proto {

/// What a client keeps per request in flight on one connection, found by the tag the reply
/// carries. The client hands out tags in increasing order (some, such as a ping's, never
/// stored), and replies come back in any order; a tag not stored, already taken, or never
/// handed out finds nothing (a peer's reply line is untrusted input).
///
/// Why not a std::map: one node allocation and a tree walk per request on the busiest path
/// of a lonc child. Here slot i holds tag `base_ + i` in a deque (no allocation per entry
/// once its blocks exist), answered slots at the front are dropped, so the table spans the
/// tags from the oldest unanswered one to the newest: bounded by the requests in flight
/// plus the answered ones behind the oldest, which the link's request deadline bounds.
/// `T` is empty (default-constructed) in a free slot and must test false then.
template <class T>
class TagTable {
public:
    /// Stores `value` under `tag`, which must be greater than every tag stored before.
    /// Returns false (and stores nothing) otherwise.
    bool add(std::uint64_t tag, T value) {
        if (slots_.empty()) {
            base_ = tag;
        } else if (tag < base_ + slots_.size()) {
            return false;
        }
        while (base_ + slots_.size() < tag) {
            slots_.emplace_back(); // a tag not stored here (a ping's)
        }
        slots_.push_back(std::move(value));
        ++size_;
        return true;
    }

    /// Removes and returns what is stored under `tag`; empty if nothing is.
    T take(std::uint64_t tag) {
        if (tag < base_ || tag - base_ >= slots_.size() || !slots_[tag - base_]) {
            return T{};
        }
        T out = std::move(slots_[tag - base_]);
        slots_[tag - base_] = T{};
        --size_;
        while (!slots_.empty() && !slots_.front()) {
            slots_.pop_front();
            ++base_;
        }
        return out;
    }

    /// Entries stored.
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] bool empty() const { return size_ == 0; }

    /// Calls `f(tag, value)` for every entry, oldest tag first.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i]) {
                f(base_ + i, slots_[i]);
            }
        }
    }

    /// Moves every entry out (oldest first) and leaves the table empty.
    template <class F>
    void drain(F&& f) {
        auto slots = std::move(slots_);
        auto base = base_;
        slots_.clear();
        size_ = 0;
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (slots[i]) {
                f(base + i, std::move(slots[i]));
            }
        }
    }

private:
    std::deque<T> slots_;
    std::uint64_t base_ = 0; ///< the tag of slots_.front()
    std::size_t size_ = 0;
};

} // namespace lon::proto
