#include "heap.hpp"

#include <cstdint>
#include <cstdlib>

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 // Linux 5.14; older headers lack it, older kernels say EINVAL
#endif

namespace lon::link {

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

void trim_heap() {
    ::malloc_trim(0);
}

} // namespace lon::link
