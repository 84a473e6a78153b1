#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "line_framer.hpp"

using lon::proto::LineFramer;
using Status = LineFramer::Status;

TEST_CASE("LineFramer: splits lines and keeps partial input", "[proto]") {
    LineFramer f(100);
    f.feed("ping\n12 ec");
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "ping");
    CHECK(f.next().status == Status::need_more);
    CHECK(f.buffered() == 5);
    f.feed("ho:x\n\n");
    r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "12 echo:x");
    r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line.empty());
    CHECK(f.next().status == Status::need_more);
    CHECK(f.buffered() == 0);
}

TEST_CASE("LineFramer: has_line tells whether another complete line is buffered", "[proto]") {
    LineFramer f(100);
    CHECK_FALSE(f.has_line());
    f.feed("1 a\n2 b\n3 c");
    CHECK(f.has_line());
    REQUIRE(f.next().line == "1 a");
    CHECK(f.has_line()); // "2 b" is next
    REQUIRE(f.next().line == "2 b");
    CHECK_FALSE(f.has_line()); // only the start of "3 c"
    CHECK(f.next().status == Status::need_more);
    CHECK_FALSE(f.has_line());
    f.feed("\n");
    CHECK(f.has_line());
    REQUIRE(f.next().line == "3 c");
    CHECK_FALSE(f.has_line());
}

TEST_CASE("LineFramer: keeps a trailing carriage return", "[proto]") {
    LineFramer f(10);
    f.feed("a\r\n");
    CHECK(f.next().line == "a\r");
}

TEST_CASE("LineFramer: a line of exactly the limit passes, one byte more does not", "[proto]") {
    LineFramer f(4);
    f.feed("abcd\nabcde\nok\n");
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "abcd");
    CHECK(f.next().status == Status::too_long);
    r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "ok");
}

TEST_CASE("LineFramer: rejects a line over the limit before its newline arrives", "[proto]") {
    LineFramer f(8);
    f.feed("0123456789");
    CHECK(f.next().status == Status::too_long);
    // Reported once; the rest of the overlong line is discarded as it comes.
    CHECK(f.next().status == Status::need_more);
    f.feed(std::string(1000, 'x'));
    CHECK(f.next().status == Status::need_more);
    CHECK(f.buffered() == 0);
    f.feed("tail\nnext\n");
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "next");
}

TEST_CASE("LineFramer: byte-at-a-time input gives the same lines", "[proto]") {
    LineFramer f(64);
    std::string input = "1 ping\n2 echo:a%20b\n3 time\n";
    std::vector<std::string> lines;
    for (char c : input) {
        f.feed(std::string_view(&c, 1));
        for (auto r = f.next(); r.status == Status::line; r = f.next()) {
            lines.push_back(r.line);
        }
    }
    CHECK(lines == std::vector<std::string>{"1 ping", "2 echo:a%20b", "3 time"});
}

TEST_CASE("LineFramer: take_buffered hands over what follows the returned lines", "[proto]") {
    LineFramer f(64);
    f.feed("init:1:a:b:insecure\n1 ping\n2 ti");
    REQUIRE(f.next().line == "init:1:a:b:insecure");
    CHECK(f.take_buffered() == "1 ping\n2 ti");
    CHECK(f.buffered() == 0);
    CHECK(f.next().status == Status::need_more);
}

TEST_CASE("LineFramer: many lines in one feed", "[proto]") {
    LineFramer f(16);
    std::string input;
    for (int i = 0; i < 10000; ++i) {
        input += std::to_string(i) + "\n";
    }
    f.feed(input);
    for (int i = 0; i < 10000; ++i) {
        auto r = f.next();
        REQUIRE(r.status == Status::line);
        REQUIRE(r.line == std::to_string(i));
    }
    CHECK(f.next().status == Status::need_more);
}

namespace {

/// Reference framing of `input` with limit `max`: lines (as "L:<text>") and too_long
/// markers ("T"), computed the slow obvious way on the whole input at once.
std::vector<std::string> reference_frames(const std::string& input, std::size_t max) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        auto nl = input.find('\n', start);
        std::size_t len = (nl == std::string::npos ? input.size() : nl) - start;
        if (len > max) {
            out.push_back("T");
        } else if (nl != std::string::npos) {
            out.push_back("L:" + input.substr(start, len));
        }
        if (nl == std::string::npos) {
            return out;
        }
        start = nl + 1;
    }
}

/// The frames `next` gives until need_more: "L:<line>" or "T" (too long).
template <class Next>
std::vector<std::string> frames(LineFramer& f, Next next) {
    std::vector<std::string> out;
    for (;;) {
        auto r = next(f);
        if (r.status == Status::need_more) {
            return out;
        }
        out.push_back(r.status == Status::line ? "L:" + std::string(r.line) : "T");
    }
}

std::vector<std::string> drain(LineFramer& f) {
    return frames(f, [](LineFramer& g) { return g.next(); });
}

/// The same through next_view (each view copied out before the next call).
std::vector<std::string> drain_views(LineFramer& f) {
    return frames(f, [](LineFramer& g) { return g.next_view(); });
}

/// A fixed-seed generator (a linear congruential one): the same test input on every run.
struct Lcg {
    std::uint32_t seed;
    std::uint32_t operator()(std::uint32_t n) {
        seed = seed * 1664525u + 1013904223u;
        return (seed >> 8) % n;
    }
};

/// Up to 29 lines of 0..40 bytes (some over a limit of 24; letters and '\r'), then an
/// unfinished tail.
std::string random_lines(Lcg& rnd) {
    std::string input;
    int lines = static_cast<int>(rnd(30));
    for (int i = 0; i < lines; ++i) {
        std::size_t len = rnd(41);
        for (std::size_t j = 0; j < len; ++j) {
            std::uint32_t k = rnd(27);
            input.push_back(k == 26 ? '\r' : static_cast<char>('a' + k));
        }
        input.push_back('\n');
    }
    input += std::string(rnd(30), 'z');
    return input;
}

} // namespace

TEST_CASE("LineFramer: any chunking gives the same frames as the whole input", "[proto]") {
    // Random lines (some over the limit of 24) fed in random chunks of 1..64 bytes.
    Lcg rnd{12345};
    for (int round = 0; round < 200; ++round) {
        const std::string input = random_lines(rnd);
        // Odd rounds read through next_view: the same frames, without copies.
        const bool views = round % 2 == 1;
        LineFramer f(24);
        std::vector<std::string> got;
        for (std::size_t off = 0; off < input.size();) {
            std::size_t n = 1 + rnd(64);
            f.feed(std::string_view(input).substr(off, n));
            off += n;
            auto part = views ? drain_views(f) : drain(f);
            got.insert(got.end(), part.begin(), part.end());
        }
        INFO("round " << round << (views ? " (next_view)" : " (next)"));
        REQUIRE(got == reference_frames(input, 24));
    }
}

TEST_CASE("LineFramer: reads straight into its room give the same frames, lines taken while "
          "the room is lent included",
          "[proto][line_framer_room]") {
    // As a session does: prepare room, a read pending, lines of earlier reads taken (or the
    // room released) meanwhile, then the read's bytes written into the lent room and
    // committed (fewer than asked, or none after a failed read).
    Lcg rnd{777};
    for (int round = 0; round < 200; ++round) {
        const std::string input = random_lines(rnd);
        const bool views = round % 2 == 1;
        LineFramer f(24);
        std::vector<std::string> got;
        auto take = [&] {
            auto part = views ? drain_views(f) : drain(f);
            got.insert(got.end(), part.begin(), part.end());
        };
        for (std::size_t off = 0; off < input.size();) {
            std::size_t n = std::min<std::size_t>(1 + rnd(64), input.size() - off);
            auto room = f.prepare(n + rnd(16));
            REQUIRE(room.size() >= n);
            switch (rnd(4)) {
            case 0: take(); break;
            case 1: f.release_room(); break;
            default: break;
            }
            if (rnd(10) == 0) {
                f.commit(0); // a read that failed: nothing arrived
                continue;
            }
            std::copy_n(input.data() + off, n, room.data());
            f.commit(n);
            off += n;
            take();
        }
        INFO("round " << round << (views ? " (next_view)" : " (next)"));
        REQUIRE(got == reference_frames(input, 24));
    }
}

TEST_CASE("LineFramer: a large line taken while room is lent is copied out; the lent room stays",
          "[proto][line_framer_room]") {
    LineFramer f(4 * 1024 * 1024);
    std::string big(64 * 1024, 'x');
    f.feed(big + "\nab");
    auto room = f.prepare(64 * 1024);
    const char* storage = f.storage();
    auto r = f.next(); // would move the buffer out if no read were filling it
    REQUIRE(r.status == Status::line);
    CHECK(r.line == big);
    CHECK(f.next().status == Status::need_more);
    f.release_room(); // "ab" is buffered, and the room is lent: nothing goes
    CHECK(f.storage() == storage);
    std::copy_n("c\nd", 3, room.data());
    f.commit(3);
    auto t = f.next();
    REQUIRE(t.status == Status::line);
    CHECK(t.line == "abc");
    CHECK(f.buffered() == 1);
    // Once committed, the room is the framer's own again: a large line leaves without a copy.
    f.feed(big + "\n");
    const char* at = f.storage();
    auto l = f.next();
    REQUIRE(l.status == Status::line);
    CHECK(l.line == "d" + big);
    CHECK(l.line.data() == at);
}

TEST_CASE("LineFramer: unused_storage is the buffer around the lent room, only while nothing is "
          "buffered",
          "[proto][line_framer_room]") {
    LineFramer f(4 * 1024 * 1024);
    CHECK(f.unused_storage().after.empty()); // nothing lent
    f.feed(std::string(64 * 1024, 'x') + "\n");
    auto room = f.prepare(64 * 1024);
    CHECK(f.unused_storage().before.empty()); // a line is buffered
    CHECK(f.unused_storage().after.empty());
    std::copy_n("ok\n", 3, room.data()); // a read that filled the room before its completion
    REQUIRE(f.next_view().status == Status::line);
    REQUIRE(f.next_view().status == Status::need_more);
    auto idle = f.unused_storage();
    // Before the lent room: the line taken; after it: the rest of the allocation. Never the
    // room, which may hold bytes already received.
    CHECK(idle.before.data() == f.storage());
    CHECK(idle.before.data() + idle.before.size() == room.data());
    CHECK(idle.after.data() == room.data() + room.size());
    CHECK(idle.after.size() + idle.before.size() + room.size() >= f.capacity());
    std::fill(idle.before.begin(), idle.before.end(), '\0'); // as pages given back read
    f.commit(3);
    CHECK(f.unused_storage().after.empty());
    auto v = f.next_view();
    REQUIRE(v.status == Status::line);
    CHECK(v.line == "ok");
}

TEST_CASE("LineFramer: bytes committed after the buffered ones were taken go where those ended",
          "[proto][line_framer_room]") {
    LineFramer f(1024);
    f.feed("abc");
    auto room = f.prepare(16); // lent just after "abc"
    CHECK(f.take_buffered() == "abc"); // the buffered bytes leave while the read is pending
    std::copy_n("x\n", 2, room.data());
    f.commit(2);
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "x");
    // The same after an overlong line was dropped while the room was lent.
    LineFramer g(4);
    g.feed("toolongline");
    auto room2 = g.prepare(16);
    CHECK(g.next().status == Status::too_long);
    CHECK(g.next().status == Status::need_more); // dropped what it held of the line
    std::copy_n("end\nok\n", 7, room2.data());
    g.commit(7);
    auto t = g.next();
    REQUIRE(t.status == Status::line);
    CHECK(t.line == "ok");
}

TEST_CASE("LineFramer: a buffer over the kept size stays while its room is lent",
          "[proto][line_framer_room]") {
    LineFramer f(8 * 1024 * 1024);
    f.feed(std::string(5 * 1024 * 1024, 'b') + "\n");
    REQUIRE(f.capacity() > 4 * 1024 * 1024);
    auto room = f.prepare(64 * 1024);
    const char* storage = f.storage();
    REQUIRE(f.next_view().status == Status::line);
    CHECK(f.next_view().status == Status::need_more); // would give a 5 MiB buffer back
    CHECK(f.storage() == storage);
    std::copy_n("z\n", 2, room.data());
    f.commit(2);
    auto v = f.next_view();
    REQUIRE(v.status == Status::line);
    CHECK(v.line == "z");
    CHECK(f.next_view().status == Status::need_more); // not lent now: given back
    CHECK(f.capacity() < 4 * 1024 * 1024);
}

TEST_CASE("LineFramer: room is reused: a message that fits the room grows nothing",
          "[proto][line_framer_room]") {
    LineFramer f(4 * 1024 * 1024);
    std::string big(256 * 1024, 'q');
    for (int i = 0; i < 3; ++i) { // a 256 KiB line read in 64 KiB pieces, three times
        for (std::size_t off = 0; off < big.size(); off += 64 * 1024) {
            auto room = f.prepare(64 * 1024);
            std::copy_n(big.data() + off, 64 * 1024, room.data());
            f.commit(64 * 1024);
        }
        auto room = f.prepare(64 * 1024);
        room[0] = '\n';
        f.commit(1);
        const char* storage = f.storage();
        auto v = f.next_view();
        REQUIRE(v.status == Status::line);
        CHECK(v.line == big);
        CHECK(f.next_view().status == Status::need_more);
        if (i > 0) {
            CHECK(f.storage() == storage);
        }
        CHECK(f.room() >= big.size()); // the next message's room is there already
    }
}

TEST_CASE("LineFramer: a huge line fed in pieces is reported once and held in no memory",
          "[proto]") {
    LineFramer f(1024);
    int too_long = 0;
    for (int i = 0; i < 1000; ++i) {
        f.feed(std::string(4096, 'x'));
        for (auto r = f.next(); r.status != Status::need_more; r = f.next()) {
            too_long += r.status == Status::too_long ? 1 : 0;
        }
        REQUIRE(f.buffered() == 0);
    }
    CHECK(too_long == 1);
    f.feed("x\nafter\n");
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "after");
}

TEST_CASE("LineFramer: an overlong line whose newline is already buffered", "[proto]") {
    LineFramer f(4);
    f.feed("abcdef\nok\nrest"); // "rest" is at the limit, not over it
    // Before next() runs, nothing has been decided: all bytes still count.
    CHECK(f.buffered() == 14);
    CHECK(f.next().status == Status::too_long);
    CHECK(f.buffered() == 7); // "ok\nrest"
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "ok");
    CHECK(f.next().status == Status::need_more);
    CHECK(f.take_buffered() == "rest");
}

TEST_CASE("LineFramer: while discarding, only bytes after the newline are buffered", "[proto]") {
    LineFramer f(4);
    f.feed("0123456789");
    REQUIRE(f.next().status == Status::too_long);
    f.feed("tail\nnext");
    // The discarded tail is not counted, what follows its newline is.
    CHECK(f.buffered() == 4);
    CHECK(f.take_buffered() == "next");
    CHECK(f.buffered() == 0);
    f.feed("fresh\nline\n"); // after take_buffered the framer starts clean
    CHECK(f.next().status == Status::too_long);
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "line");
}

TEST_CASE("LineFramer: empty feeds, empty lines, NUL bytes and a zero limit", "[proto]") {
    LineFramer f(8);
    f.feed("");
    CHECK(f.next().status == Status::need_more);
    f.feed(std::string("a\0b\n", 4));
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == std::string("a\0b", 3));
    f.feed("\n\r\n");
    CHECK(f.next().line.empty());
    CHECK(f.next().line == "\r");
    CHECK(f.max_line() == 8);

    LineFramer zero(0);
    zero.feed("\nx\n\n");
    CHECK(zero.next().status == Status::line);
    CHECK(zero.next().status == Status::too_long);
    CHECK(zero.next().status == Status::line);
    CHECK(zero.next().status == Status::need_more);
}

TEST_CASE("LineFramer: lines split across feeds over a long stream", "[proto]") {
    // Every feed ends inside a line, so compaction always has a partial line to keep.
    LineFramer f(64);
    std::size_t lines = 0;
    for (int i = 0; i < 100'000; ++i) {
        f.feed("12345 echo:abc\n12");
        f.feed("");
        for (auto r = f.next(); r.status == Status::line; r = f.next()) {
            ++lines;
        }
        REQUIRE(f.buffered() == 2);
        f.feed(std::string_view("\n"));
        auto r = f.next();
        REQUIRE(r.status == Status::line);
        REQUIRE(r.line == "12");
    }
    CHECK(lines == 100'000);
    CHECK(f.take_buffered().empty());
}

TEST_CASE("LineFramer: finish yields the unterminated tail once, then nothing", "[proto]") {
    LineFramer f(16);
    f.feed("ping\necho:x");
    auto a = f.next();
    REQUIRE(a.status == LineFramer::Status::line);
    CHECK(a.line == "ping");
    CHECK(f.next().status == LineFramer::Status::need_more);
    auto tail = f.finish();
    REQUIRE(tail.status == LineFramer::Status::line);
    CHECK(tail.line == "echo:x");
    CHECK(f.finish().status == LineFramer::Status::need_more);
    CHECK(f.buffered() == 0);
}

TEST_CASE("LineFramer: finish with nothing after the last newline yields nothing", "[proto]") {
    LineFramer f(16);
    CHECK(f.finish().status == LineFramer::Status::need_more);
    f.feed("ping\n");
    CHECK(f.next().status == LineFramer::Status::line);
    CHECK(f.finish().status == LineFramer::Status::need_more);
}

TEST_CASE("LineFramer: finish never yields a piece of an overlong line", "[proto]") {
    LineFramer f(4);
    f.feed("abcdefgh");
    CHECK(f.next().status == LineFramer::Status::too_long); // reported once already
    f.feed("ijk");
    CHECK(f.next().status == LineFramer::Status::need_more);
    CHECK(f.finish().status == LineFramer::Status::need_more);
    // A tail of exactly the limit is a line.
    f.feed("abcd");
    CHECK(f.next().status == LineFramer::Status::need_more);
    auto tail = f.finish();
    REQUIRE(tail.status == LineFramer::Status::line);
    CHECK(tail.line == "abcd");
}

TEST_CASE("LineFramer: a large line leaves the framer without a copy; the bytes after it stay",
          "[proto][line_framer_copies]") {
    const std::size_t big = 1 << 20;
    LineFramer f(2 * big);
    std::string in(big, 'x');
    in += "\nab";
    f.feed(in);
    const char* stored = f.storage();
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line.data() == stored); // the framer's buffer itself, not a copy
    CHECK(r.line == std::string(big, 'x'));
    CHECK(f.next().status == Status::need_more);
    CHECK(f.buffered() == 2);
    f.feed("c\nd");
    r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "abc");
    CHECK(f.take_buffered() == "d");
}

TEST_CASE("LineFramer: a large line after small ones (not at the buffer's start) comes out whole",
          "[proto][line_framer_copies]") {
    const std::size_t big = 100'000;
    LineFramer f(2 * big);
    std::string line(big, 'y');
    f.feed("a\nbb\n" + line + "\nzz");
    CHECK(f.next().line == "a");
    CHECK(f.next().line == "bb");
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == line);
    CHECK(f.next().status == Status::need_more);
    f.feed("\n");
    CHECK(f.next().line == "zz");
    // A large line split over several feeds.
    f.feed(line.substr(0, 10));
    f.feed(line.substr(10) + "\n");
    r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == line);
    CHECK(f.buffered() == 0);
}

TEST_CASE("LineFramer: after large lines, a connection that goes back to small ones keeps "
          "at most 4 MiB of buffer", "[proto][line_framer_copies]") {
    // A pooled link lives for days: what its framer holds after a burst of large messages
    // must not stay as large as the largest one (README: large messages).
    const std::size_t big = 8 << 20;
    LineFramer f(16 << 20);
    std::string piece(64 * 1024, 'x');
    for (int round = 0; round < 2; ++round) {
        for (std::size_t fed = 0; fed < big; fed += piece.size()) {
            f.feed(piece);
            CHECK(f.next().status == Status::need_more);
        }
        f.feed("\n");
        auto r = f.next();
        REQUIRE(r.status == Status::line);
        CHECK(r.line.size() == big);
    }
    f.feed("1 ping\n");
    CHECK(f.next().line == "1 ping");
    CHECK(f.next().status == Status::need_more);
    CHECK(f.capacity() <= std::size_t(4) << 20);
}

TEST_CASE("LineFramer: after a 1 MiB line the room for the next one is kept",
          "[proto][line_framer_copies]") {
    // Giving the room back after every 1 MiB line made each next one grow the buffer again
    // by doubling (1 MiB C=8 in bench/compare: 190 -> 88 req/s).
    LineFramer f(16 << 20);
    std::string piece(64 * 1024, 'y');
    for (int i = 0; i < 16; ++i) {
        f.feed(piece);
    }
    f.feed("\n");
    REQUIRE(f.next().status == Status::line);
    CHECK(f.next().status == Status::need_more);
    CHECK(f.capacity() >= std::size_t(1) << 20);
}

TEST_CASE("LineFramer: release_room gives the kept room back, but never buffered bytes",
          "[proto][line_framer_copies]") {
    LineFramer f(16 << 20);
    std::string piece(64 * 1024, 'y');
    for (int i = 0; i < 16; ++i) {
        f.feed(piece);
    }
    f.feed("\nab"); // a 1 MiB line, then the start of the next
    REQUIRE(f.next().status == Status::line);
    REQUIRE(f.next().status == Status::need_more);
    f.release_room(); // "ab" is buffered: nothing goes
    CHECK(f.buffered() == 2);
    f.feed("c\n");
    auto r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "abc");
    CHECK(f.next().status == Status::need_more);
    CHECK(f.capacity() >= std::size_t(1) << 20); // kept for a next large line
    f.release_room();
    CHECK(f.capacity() < 64);
    f.feed("after\n");
    r = f.next();
    REQUIRE(r.status == Status::line);
    CHECK(r.line == "after");
}

TEST_CASE("LineFramer: next_view shows a line where it lies in the buffer, large ones too",
          "[proto]") {
    LineFramer f(4 * 1024 * 1024);
    std::string big(1024 * 1024, 'x');
    f.feed("ab\n" + big + "\ntail");
    auto a = f.next_view();
    REQUIRE(a.status == Status::line);
    CHECK(a.line == "ab");
    CHECK(a.line.data() == f.storage()); // no copy
    auto b = f.next_view();
    REQUIRE(b.status == Status::line);
    CHECK(b.line.size() == big.size());
    CHECK(b.line.data() == f.storage() + 3); // a 1 MiB line: not copied, not moved
    CHECK(f.next_view().status == Status::need_more);
    CHECK(f.buffered() == 4);
    f.feed("\n");
    auto t = f.next_view();
    REQUIRE(t.status == Status::line);
    CHECK(t.line == "tail");
}
