// HeapKeeper (daemons/link/heap.hpp): the heap large messages free stays while they pass and
// goes back when they stop. Measured with glibc's own account (mallinfo2().keepcost: the
// free space at the top of the heap that a trim would give back).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include <malloc.h>

#include <asio.hpp>

#include "heap.hpp"

namespace {

constexpr std::size_t mib = 1024 * 1024;

/// Allocates and frees `count` MiB the way large messages do (touched, from the heap).
void churn(std::size_t count) {
    std::vector<std::unique_ptr<char[]>> blocks;
    for (std::size_t i = 0; i < count; ++i) {
        blocks.push_back(std::make_unique<char[]>(mib));
        std::memset(blocks.back().get(), 'x', mib);
    }
}

std::size_t kept() { return ::mallinfo2().keepcost; }

} // namespace

TEST_CASE("HeapKeeper: what large messages free stays while they pass and is given back once "
          "they stop", "[heap_keeper]") {
#if defined(__SANITIZE_ADDRESS__)
    WARN("malloc is AddressSanitizer's in this build: glibc's heap is not what is measured");
    return;
#endif
    // As daemon_main sets them: 1 MiB buffers come from the heap, 4 MiB kept when quiet.
    ::mallopt(M_MMAP_THRESHOLD, 32 * mib);
    ::mallopt(M_TRIM_THRESHOLD, static_cast<int>(lon::link::heap_kept_quiet));

    SECTION("without a keeper (a parent), freed heap above 4 MiB goes back at once") {
        churn(16);
        CHECK(kept() <= lon::link::heap_kept_quiet);
    }

    SECTION("with one: kept while busy, trimmed after a quiet time, 4 MiB again after") {
        // Times from t0, just before the keeper's timer is armed: however slow this machine
        // is, expired timers run in the order of their expiry, so the steps keep their order.
        using std::chrono::milliseconds;
        constexpr milliseconds quiet(200);
        asio::io_context io;
        lon::link::HeapKeeper keeper(io, 64 * mib, quiet);
        auto t0 = std::chrono::steady_clock::now();
        lon::link::HeapKeeper::note_large();
        churn(16);
        CHECK(kept() >= 12 * mib); // for the next message

        // More large messages at 0.6 and 1.2 x quiet: no trim while they come (looked at
        // 1.6 x quiet: the keeper looks at quiet, sees them, and looks again a quiet later).
        auto note = [](std::error_code) { lon::link::HeapKeeper::note_large(); };
        asio::steady_timer first(io, t0 + quiet * 6 / 10);
        first.async_wait(note);
        asio::steady_timer second(io, t0 + quiet * 12 / 10);
        second.async_wait(note);
        std::uint64_t trims_busy = 99;
        std::size_t kept_busy = 0;
        asio::steady_timer look(io, t0 + quiet * 16 / 10);
        look.async_wait([&](std::error_code) {
            trims_busy = keeper.trims();
            kept_busy = kept();
        });
        io.run(); // ends when the keeper has trimmed and armed nothing more
        CHECK(trims_busy == 0);
        CHECK(kept_busy >= 12 * mib);
        CHECK(keeper.trims() == 1);
        CHECK(kept() < mib);

        churn(16); // no large message noted since the trim: quiet rules again
        CHECK(kept() <= lon::link::heap_kept_quiet);
    }

    SECTION("limits.large_message_heap bounds what is kept while busy, and a reload's value "
            "applies at once") {
        asio::io_context io;
        lon::link::HeapKeeper keeper(io, 8 * mib);
        lon::link::HeapKeeper::note_large();
        churn(6); // 6 MiB: more than the quiet 4, within the 8 configured
        CHECK(kept() >= 5 * mib);
        churn(16); // over 8 MiB when freed: given back
        CHECK(kept() < mib);
        lon::link::HeapKeeper::set_kept_busy(32 * mib); // a reload, while busy
        churn(16);
        CHECK(kept() >= 12 * mib);
        lon::link::HeapKeeper::set_kept_busy(0); // below the quiet 4 MiB: as if quiet
        churn(6);
        CHECK(kept() <= lon::link::heap_kept_quiet);
    }
}

TEST_CASE("HeapKeeper: when large messages stop, every RoomHolder alive gives its room back",
          "[heap_keeper]") {
    struct Holder final : lon::link::RoomHolder {
        int released = 0;
        void release_room() override { ++released; }
    };
    asio::io_context io;
    lon::link::HeapKeeper keeper(io, 64 * mib, std::chrono::milliseconds(20));
    Holder a;
    auto b = std::make_unique<Holder>();
    Holder c;
    b.reset(); // gone before the quiet time: not called
    lon::link::HeapKeeper::note_large();
    io.run();
    CHECK(keeper.trims() == 1);
    CHECK(a.released == 1);
    CHECK(c.released == 1);
    io.restart();
    io.run(); // no large message since: nothing more
    CHECK(a.released == 1);
}

