// link::prefault_heap: a child's heap grows by its populated pages, not by one page fault per
// 4 KiB (each fault cost 20-27 us of CPU on the VM measured: bench/README.md, "A child's
// start-up"). Checked with mincore in a forked process (its own heap, the daemons' malloc
// settings): the block the next allocation gets is resident before anything writes to it.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <catch2/catch.hpp>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap.hpp"

namespace {

/// In a forked process with daemon_main's malloc settings: optionally prefault_heap(512 KiB),
/// then one 480 KiB allocation; returns the percentage of its pages already resident (-1 on
/// failure).
int resident_percent_of_next_block(bool prefault) {
    int fds[2];
    if (::pipe(fds) != 0) {
        return -1;
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        // meson test sets MALLOC_PERTURB_, with which malloc fills every block it hands out
        // (touching all its pages): off here, as in a daemon started by an admin.
        ::mallopt(M_PERTURB, 0);
        ::mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        ::mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
        ::malloc_trim(0); // what the test process left free is given back: fresh pages follow
        if (prefault) {
            lon::link::prefault_heap(512 * 1024);
        }
        constexpr std::size_t size = 480 * 1024;
        void* p = std::malloc(size); // NOLINT(cppcoreguidelines-no-malloc): the heap under test
        const long page = ::sysconf(_SC_PAGESIZE);
        auto start = reinterpret_cast<std::uintptr_t>(p);
        std::uintptr_t begin = (start + static_cast<std::uintptr_t>(page) - 1) &
                               ~(static_cast<std::uintptr_t>(page) - 1);
        std::size_t pages = (start + size - begin) / static_cast<std::size_t>(page);
        std::vector<unsigned char> vec(pages);
        int percent = -1;
        if (p != nullptr &&
            ::mincore(reinterpret_cast<void*>(begin), pages * static_cast<std::size_t>(page),
                      vec.data()) == 0) {
            std::size_t in = 0;
            for (unsigned char v : vec) {
                in += v & 1U;
            }
            percent = static_cast<int>(in * 100 / pages);
        }
        (void)!::write(fds[1], &percent, sizeof percent);
        ::_exit(0);
    }
    ::close(fds[1]);
    int percent = -1;
    if (pid < 0 || ::read(fds[0], &percent, sizeof percent) != sizeof percent) {
        percent = -1;
    }
    ::close(fds[0]);
    if (pid > 0) {
        int status = 0;
        ::waitpid(pid, &status, 0);
    }
    return percent;
}

} // namespace

TEST_CASE("prefault_heap: the heap's next block is resident before it is written",
          "[heap_prefault]") {
#if defined(__SANITIZE_ADDRESS__)
    SUCCEED("AddressSanitizer's malloc is not glibc's heap: prefault_heap does nothing there");
    return;
#endif
    // Without it the same block is fresh heap: its pages fault in one by one when written
    // (this side of the check is what shows the measure can tell the two apart).
    int without = resident_percent_of_next_block(false);
    REQUIRE(without >= 0);
    CHECK(without <= 50);
    int with = resident_percent_of_next_block(true);
    REQUIRE(with >= 0);
    CHECK(with >= 95);
}
