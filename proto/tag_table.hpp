#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <utility>

namespace lon::proto {

/// What a client keeps per request in flight on one connection, found by the tag the reply
/// carries. The client hands out tags in increasing order (some, such as a ping's, never
/// stored), and replies come back in any order; a tag not stored, already taken, or never
/// handed out finds nothing (a peer's reply line is untrusted input).
///
/// Why not a std::map: one node allocation and a tree walk per request on the busiest path
/// of a lonc child. Here slot i holds tag `base_ + i` in a deque (no allocation per entry
/// once its blocks exist), and answered slots at the front are dropped. One request left
/// unanswered while thousands behind it are answered (a hung handler request on the peer,
/// for up to lonc.request_timeout) would keep every slot after it: so the deque spans at most
/// `max(min_span, span_factor x its entries)` slots, and an old entry in the way is moved to
/// a small std::map of stragglers instead. Memory stays proportional to what is in flight.
/// `T` is empty (default-constructed) in a free slot and must test false then.
template <class T>
class TagTable {
public:
    static constexpr std::size_t min_span = 1024;
    static constexpr std::size_t span_factor = 8;

    /// Stores `value` under `tag`, which must be greater than every tag stored before.
    /// Returns false (and stores nothing) otherwise.
    bool add(std::uint64_t tag, T value) {
        if (tag < next_min_) {
            return false;
        }
        if (slots_.empty()) {
            base_ = tag;
        }
        while (base_ + slots_.size() < tag) {
            slots_.emplace_back(); // a tag not stored here (a ping's)
        }
        slots_.push_back(std::move(value));
        next_min_ = tag + 1;
        ++in_slots_;
        bound_span();
        return true;
    }

    /// Removes and returns what is stored under `tag`; empty if nothing is.
    T take(std::uint64_t tag) {
        if (tag >= base_ && tag - base_ < slots_.size()) {
            T& slot = slots_[tag - base_];
            if (!slot) {
                return T{};
            }
            T out = std::move(slot);
            slot = T{};
            --in_slots_;
            drop_free_front();
            return out;
        }
        auto it = stragglers_.find(tag);
        if (it == stragglers_.end()) {
            return T{};
        }
        T out = std::move(it->second);
        stragglers_.erase(it);
        return out;
    }

    /// Entries stored.
    [[nodiscard]] std::size_t size() const { return in_slots_ + stragglers_.size(); }
    [[nodiscard]] bool empty() const { return size() == 0; }
    /// Slots the deque holds (entries and the free slots between them), for tests.
    [[nodiscard]] std::size_t span() const { return slots_.size(); }

    /// Calls `f(tag, value)` for every entry, oldest tag first. `f` must not add or take
    /// entries (the walk is by index over the deque and the stragglers' map).
    template <class F>
    void for_each(F&& f) const {
        for (const auto& [tag, value] : stragglers_) { // all older than the deque's
            f(tag, value);
        }
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i]) {
                f(base_ + i, slots_[i]);
            }
        }
    }

    /// Moves every entry out (oldest first) and leaves the table empty.
    template <class F>
    void drain(F&& f) {
        auto stragglers = std::move(stragglers_);
        auto slots = std::move(slots_);
        auto base = base_;
        stragglers_.clear();
        slots_.clear();
        in_slots_ = 0;
        for (auto& [tag, value] : stragglers) {
            f(tag, std::move(value));
        }
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (slots[i]) {
                f(base + i, std::move(slots[i]));
            }
        }
    }

private:
    void drop_free_front() {
        while (!slots_.empty() && !slots_.front()) {
            slots_.pop_front();
            ++base_;
        }
    }

    /// Moves the oldest entries out of the deque while it is mostly free slots.
    void bound_span() {
        while (slots_.size() > min_span && slots_.size() > span_factor * in_slots_) {
            stragglers_.emplace(base_, std::move(slots_.front()));
            --in_slots_;
            slots_.pop_front();
            ++base_;
            drop_free_front();
        }
    }

    std::deque<T> slots_;
    std::uint64_t base_ = 0;     ///< the tag of slots_.front()
    std::uint64_t next_min_ = 0; ///< the lowest tag add still takes
    std::size_t in_slots_ = 0;   ///< entries in slots_
    std::map<std::uint64_t, T> stragglers_; ///< old entries moved out of the deque's way
};

} // namespace lon::proto
