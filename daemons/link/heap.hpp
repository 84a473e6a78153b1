#pragma once

/// glibc malloc settings and trims that keep a child's private memory small (issue 9 §6:
/// a host of a 500-host cluster runs up to 998 children, so each KiB a child keeps counts
/// a thousand times). See bench/README.md "Private memory per child" for the figures.
namespace lon::link {

/// One malloc arena for the whole process. A child's work is all on its io_context thread;
/// its only other thread (the spool's fsync worker) allocates little, and a second arena
/// would keep its own free pages (and reserve 64 MiB of address space). Call before any
/// thread starts.
void use_one_malloc_arena();

/// Gives free heap pages back to the system (malloc_trim(0): the top of the heap and whole
/// free pages inside it). A TLS handshake allocates and frees much more than a linked
/// connection keeps (certificate chain parsing, key exchange, verification), and glibc keeps
/// what was freed as the process's own dirty memory. Called after a link comes up, which
/// happens a few times in a link's life, never per request: a trim walks the heap (tens of
/// microseconds for a child's).
void trim_heap();

} // namespace lon::link
