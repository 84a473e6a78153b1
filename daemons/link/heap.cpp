#include "heap.hpp"

#include <malloc.h>

namespace lon::link {

namespace {
HeapKeeper* keeper = nullptr;   // the process's one (the heap is the process's too)
RoomHolder* holders = nullptr;  // every RoomHolder alive, a list through prev_/next_
} // namespace

RoomHolder::RoomHolder() : next_(holders) {
    if (holders != nullptr) {
        holders->prev_ = this;
    }
    holders = this;
}

RoomHolder::~RoomHolder() {
    if (prev_ != nullptr) {
        prev_->next_ = next_;
    } else {
        holders = next_;
    }
    if (next_ != nullptr) {
        next_->prev_ = prev_;
    }
}

void use_one_malloc_arena() {
    ::mallopt(M_ARENA_MAX, 1);
}

void trim_heap() {
    ::malloc_trim(0);
}

HeapKeeper::HeapKeeper(asio::io_context& io, std::chrono::milliseconds quiet)
    : timer_(io), quiet_(quiet) {
    keeper = this;
}

HeapKeeper::~HeapKeeper() {
    if (keeper == this) {
        keeper = nullptr;
    }
}

void HeapKeeper::note_large() {
    if (keeper == nullptr) {
        return;
    }
    ++keeper->activity_;
    if (!keeper->armed_) {
        ::mallopt(M_TRIM_THRESHOLD, static_cast<int>(kept_busy));
        keeper->arm();
    }
}

void HeapKeeper::arm() {
    armed_ = true;
    seen_ = activity_;
    timer_.expires_after(quiet_);
    timer_.async_wait([this](std::error_code ec) {
        if (ec) {
            armed_ = false; // cancelled: the io_context is going away
            return;
        }
        if (activity_ != seen_) {
            arm(); // still busy: look again after another `quiet`
            return;
        }
        armed_ = false;
        give_back();
    });
}

void HeapKeeper::give_back() {
    for (RoomHolder* h = holders; h != nullptr; h = h->next_) {
        h->release_room();
    }
    ::mallopt(M_TRIM_THRESHOLD, static_cast<int>(heap_kept_quiet));
    trim_heap();
    ++trims_;
}

} // namespace lon::link
