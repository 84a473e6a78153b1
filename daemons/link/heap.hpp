#pragma once

#include <cstddef>

/// glibc malloc settings and trims that keep a child's private memory small (issue 9 §6:
/// a host of a 500-host cluster runs up to 998 children, so each KiB a child keeps counts
/// a thousand times). See bench/README.md "Private memory per child" for the figures.
namespace lon::link {

/// One malloc arena for the whole process. A child's work is all on its io_context thread;
/// its only other thread (the spool's fsync worker) allocates little, and a second arena
/// would keep its own free pages (and reserve 64 MiB of address space). Call before any
/// thread starts.
void use_one_malloc_arena();

/// Child, first thing: grows the heap by `bytes` at once and has the kernel fill those pages
/// in one call (madvise MADV_POPULATE_WRITE, Linux 5.14), instead of one page fault per
/// 4 KiB as OpenSSL's initialisation, the SSL_CTX and the handshake grow it. A child's heap
/// reaches about 576 KiB by its first answered request, 144 faults, and a fault cost 20-27 us
/// of CPU on the PVM guest measured (bench/README.md, "A child's start-up"): about a fifth
/// of what a child spends beyond a bare start of the binary. `bytes` stays below what every
/// child uses anyway, so no page is populated for nothing; where the call is not supported
/// the pages fault in one by one, as before.
void prefault_heap(std::size_t bytes);

/// What prefault_heap is given: below the ~576 KiB a child's heap reaches before it serves.
inline constexpr std::size_t child_heap_prefault = 512 * 1024;

/// Gives free heap pages back to the system (malloc_trim(0): the top of the heap and whole
/// free pages inside it). A TLS handshake allocates and frees much more than a linked
/// connection keeps (certificate chain parsing, key exchange, verification), and glibc keeps
/// what was freed as the process's own dirty memory. Called after a link comes up, which
/// happens a few times in a link's life, never per request: a trim walks the heap (tens of
/// microseconds for a child's).
void trim_heap();

} // namespace lon::link
