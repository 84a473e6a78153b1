#include "heap.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 // Linux 5.14; older headers lack it, older kernels say EINVAL
#endif

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

void prefault_heap(std::size_t bytes) {
#if defined(__SANITIZE_ADDRESS__)
    // The sanitizer build's malloc is AddressSanitizer's, not glibc's heap: the block would
    // sit in its quarantine, not under the allocations that follow.
    (void)bytes;
    return;
#else
    // One block from the brk heap (below M_MMAP_THRESHOLD, set first thing in daemon_main):
    // malloc writes only its header, so the block's pages are not there yet. Populated, then
    // freed: it merges into the heap's top chunk (below M_TRIM_THRESHOLD, so it is kept) and
    // the allocations that follow take those pages without faulting.
    void* block = std::malloc(bytes); // NOLINT(cppcoreguidelines-no-malloc): glibc's heap itself
    if (block == nullptr) {
        return;
    }
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto start = reinterpret_cast<std::uintptr_t>(block);
    const std::uintptr_t begin = (start + page - 1) & ~(page - 1);
    const std::uintptr_t end = (start + bytes) & ~(page - 1);
    if (end > begin) {
        // Failure (an old kernel) only means the pages fault in one by one, as without this.
        (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
    }
    std::free(block); // NOLINT(cppcoreguidelines-no-malloc)
#endif
}

void give_back_pages(std::span<char> storage) {
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto start = reinterpret_cast<std::uintptr_t>(storage.data());
    const std::uintptr_t begin = (start + page - 1) & ~(page - 1);
    const std::uintptr_t end = (start + storage.size()) & ~(page - 1);
    if (!storage.empty() && end > begin) {
        // Whole pages only: a malloc chunk's header and its neighbours stay untouched.
        (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    }
}

void give_back_room(proto::LineFramer& framer) {
    framer.release_room();
    auto unused = framer.unused_storage();
    give_back_pages(unused.before);
    give_back_pages(unused.after);
}

void trim_heap() {
    ::malloc_trim(0);
}

namespace {

/// M_TRIM_THRESHOLD while large messages pass: never below what is kept when quiet (a smaller
/// one would trim at ordinary frees too), and within mallopt's int.
int busy_threshold(std::uint64_t bytes) {
    return static_cast<int>(std::clamp<std::uint64_t>(bytes, heap_kept_quiet,
                                                      std::numeric_limits<int>::max()));
}

} // namespace

HeapKeeper::HeapKeeper(asio::io_context& io, std::uint64_t kept_busy,
                       std::chrono::milliseconds quiet)
    : timer_(io), kept_busy_(busy_threshold(kept_busy)), quiet_(quiet) {
    keeper = this;
}

void HeapKeeper::set_kept_busy(std::uint64_t bytes) {
    if (keeper == nullptr) {
        return;
    }
    keeper->kept_busy_ = busy_threshold(bytes);
    if (keeper->armed_) {
        ::mallopt(M_TRIM_THRESHOLD, keeper->kept_busy_);
    }
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
    keeper->noted_ = true;
    if (!keeper->armed_) {
        ::mallopt(M_TRIM_THRESHOLD, keeper->kept_busy_);
        keeper->arm();
    }
}

void HeapKeeper::arm() {
    armed_ = true;
    noted_ = false;
    timer_.expires_after(quiet_);
    timer_.async_wait([this](std::error_code ec) {
        if (ec) {
            armed_ = false; // cancelled: the io_context is going away
            return;
        }
        if (noted_) {
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
