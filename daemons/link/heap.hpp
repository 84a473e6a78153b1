#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "line_framer.hpp"

/// glibc malloc settings and trims that keep a child's private memory small (issue 9 §6:
/// a host of a 500-host cluster runs up to 998 children, so each KiB a child keeps counts
/// a thousand times), without making large messages pay for it. See bench/README.md
/// "Private memory per child" and "Large messages and the heap" for the figures.
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
/// what was freed as the process's own dirty memory. Called after a link comes up and by
/// HeapKeeper when large messages stop, a few times in a link's life, never per request: a
/// trim walks the heap (tens of microseconds for a child's).
void trim_heap();

/// Gives back the pages of `storage` that lie wholly inside it (MADV_DONTNEED): they read
/// as zeroes next time, and count as the process's memory only once written again. For
/// memory that must keep its address (a buffer a read in progress was lent room in) but
/// holds nothing that matters.
void give_back_pages(std::span<char> storage);

/// A framer's room for a next line goes back (LineFramer::release_room); while a read is
/// lent part of it (an idle session's read), the pages of the rest go back instead
/// (give_back_pages), never the lent part: the read may have filled it already.
void give_back_room(proto::LineFramer& framer);

/// The freed heap a process keeps at most (M_TRIM_THRESHOLD) when no large message is
/// passing: daemon_main sets it at start.
inline constexpr std::size_t heap_kept_quiet = 4 * 1024 * 1024;

/// Something that holds room for large messages which it can give back once they stop
/// (LineSession: its framer's room for a next line). Listed with the process while it
/// lives; HeapKeeper calls release_room() on each when large messages have stopped, then
/// trims. Single-threaded, like everything that touches a child's sessions.
class RoomHolder {
public:
    RoomHolder();
    virtual ~RoomHolder();
    RoomHolder(const RoomHolder&) = delete;
    RoomHolder& operator=(const RoomHolder&) = delete;
    /// Gives back what is kept only for messages that may come (never what is in use).
    virtual void release_room() = 0;

private:
    friend class HeapKeeper;
    RoomHolder* prev_ = nullptr;
    RoomHolder* next_ = nullptr;
};

/// Keeps the heap that large messages free while they pass, and gives it back once they
/// stop. With 1 MiB messages, 8 at a time, a child's heap swings by tens of MiB; glibc
/// gave everything above heap_kept_quiet back at each free and faulted it in again, zeroed,
/// for the next message (36-57 page faults per request in the lonc child, a quarter of its
/// CPU). While large messages pass, up to `kept_busy` (limits.large_message_heap, at least
/// heap_kept_quiet) of freed heap stays for the next one;
/// `quiet` after the last one, every RoomHolder gives back its room, the child trims its heap
/// (trim_heap) and keeps heap_kept_quiet again. What stays is what was in use at the peak,
/// so the peak itself does not grow; it is given back later. One per child process, on its
/// io_context thread.
class HeapKeeper final {
public:
    static constexpr std::chrono::milliseconds default_quiet{2000};

    HeapKeeper(asio::io_context& io, std::uint64_t kept_busy,
               std::chrono::milliseconds quiet = default_quiet);
    ~HeapKeeper();
    HeapKeeper(const HeapKeeper&) = delete;
    HeapKeeper& operator=(const HeapKeeper&) = delete;

    /// A large message (LineSession: a read or a queued write of 16 KiB or more) passed in
    /// this process. Cheap: a flag, and a timer armed at most once per `quiet`. Does
    /// nothing in a process without a HeapKeeper (parents, tests).
    static void note_large();

    /// A reload's limits.large_message_heap for this process's keeper (if any); in effect at
    /// once while large messages pass.
    static void set_kept_busy(std::uint64_t bytes);

    /// Trims so far (tests).
    [[nodiscard]] std::uint64_t trims() const { return trims_; }

private:
    void arm();
    void give_back();

    asio::steady_timer timer_;
    int kept_busy_; ///< M_TRIM_THRESHOLD while busy
    std::chrono::milliseconds quiet_;
    bool noted_ = false; ///< a large message passed since the timer was armed
    std::uint64_t trims_ = 0;
    bool armed_ = false;
};

} // namespace lon::link
