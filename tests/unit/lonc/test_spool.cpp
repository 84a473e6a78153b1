// lonc's durable spool (daemons/lonc/spool.*) and the worker that syncs it
// (daemons/link/durable_writer.*), on a real folder with a real io_context.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <set>

#include <asio.hpp>

#include "critical.hpp"
#include "durable_writer.hpp"
#include "spool.hpp"

namespace {

/// A fresh folder under /tmp, removed afterwards.
struct TempFolder {
    std::filesystem::path path;
    TempFolder() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "lonspool.XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempFolder() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

/// Runs `io` until `done` holds (bounded: a hung worker fails the test instead).
bool run_until(asio::io_context& io, const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(std::chrono::milliseconds(10));
    }
    return done();
}

std::size_t files_in(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) {
        ++n;
    }
    return n;
}

using lon::lonc::Spool;

} // namespace

TEST_CASE("Spool: adds durably with random 128-bit ids, delivers oldest first, reloads",
          "[spool]") {
    TempFolder tmp;
    auto dir = tmp.path / "peer";
    asio::io_context io;
    std::vector<std::string> ids;
    {
        Spool spool(io, dir, 100);
        for (int i = 0; i < 20; ++i) {
            spool.add("echo:" + std::to_string(i), [&](Spool::Added r, const std::string& id) {
                REQUIRE(r == Spool::Added::ok);
                ids.push_back(id);
            });
        }
        CHECK(spool.size() == 20); // counted while being written
        REQUIRE(run_until(io, [&] { return ids.size() == 20; }));
        CHECK(files_in(dir) == 20);
        std::set<std::string> unique(ids.begin(), ids.end());
        CHECK(unique.size() == 20);
        for (const auto& id : ids) {
            CHECK(id.size() == 32);
            CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
        }
        auto first = spool.oldest(3, [](const std::string&) { return false; });
        REQUIRE(first.size() == 3);
        CHECK(first[0] == ids[0]);
        CHECK(*spool.read(first[1]) == "echo:1");
        auto skipping = spool.oldest(2, [&](const std::string& id) { return id == ids[0]; });
        CHECK(skipping == std::vector<std::string>{ids[1], ids[2]});
        bool removed = false;
        spool.remove(ids[0], [&](bool ok) { removed = ok; });
        REQUIRE(run_until(io, [&] { return removed; }));
        CHECK(spool.size() == 19);
        CHECK(files_in(dir) == 19);
    }
    // A child starting over the spool sees the same order; a temp file left by a crash goes;
    // new entries come after the old ones.
    std::ofstream(dir / "00000000000000000002-abc.tmp.123") << "half";
    Spool again(io, dir, 100);
    CHECK(again.load() == 19);
    CHECK(files_in(dir) == 19);
    auto order = again.oldest(100, [](const std::string&) { return false; });
    CHECK(order == std::vector<std::string>(ids.begin() + 1, ids.end()));
    std::string newest;
    again.add("echo:new", [&](Spool::Added, const std::string& id) { newest = id; });
    REQUIRE(run_until(io, [&] { return !newest.empty(); }));
    CHECK(again.oldest(100, [](const std::string&) { return false; }).back() == newest);
}

TEST_CASE("Spool: over max_entries an add is refused at once (full)", "[spool]") {
    TempFolder tmp;
    asio::io_context io;
    Spool spool(io, tmp.path / "peer", 2);
    int ok = 0;
    int full = 0;
    for (int i = 0; i < 3; ++i) {
        spool.add("x", [&](Spool::Added r, const std::string&) {
            ok += r == Spool::Added::ok ? 1 : 0;
            full += r == Spool::Added::full ? 1 : 0;
        });
    }
    CHECK(full == 1); // before any write finished: pending adds count
    REQUIRE(run_until(io, [&] { return ok == 2; }));
}

TEST_CASE("Spool: a folder that cannot be written fails the add", "[spool]") {
    TempFolder tmp;
    asio::io_context io;
    std::ofstream(tmp.path / "file") << "not a folder";
    Spool spool(io, tmp.path / "file" / "peer", 10);
    std::optional<Spool::Added> got;
    spool.add("x", [&](Spool::Added r, const std::string&) { got = r; });
    REQUIRE(run_until(io, [&] { return got.has_value(); }));
    CHECK(*got == Spool::Added::failed);
    CHECK(spool.empty());
}

TEST_CASE("DurableWriter: writes and removals complete on the loop, in order", "[spool]") {
    TempFolder tmp;
    asio::io_context io;
    lon::link::DurableWriter w(io);
    std::vector<int> order;
    for (int i = 0; i < 50; ++i) {
        w.write(tmp.path / std::to_string(i), "v" + std::to_string(i), [&order, i](bool ok) {
            CHECK(ok);
            order.push_back(i);
        });
    }
    bool gone = false;
    w.remove(tmp.path / "7", [&](bool ok) { gone = ok; });
    bool failed = true;
    w.write(tmp.path / "no" / "such" / "folder", "x", [&](bool ok) { failed = !ok; });
    REQUIRE(run_until(io, [&] { return gone && w.pending() == 0; }));
    CHECK(failed);
    REQUIRE(order.size() == 50);
    for (int i = 0; i < 50; ++i) {
        CHECK(order[static_cast<std::size_t>(i)] == i);
    }
    CHECK(!std::filesystem::exists(tmp.path / "7"));
    std::ifstream in(tmp.path / "8");
    std::string v;
    in >> v;
    CHECK(v == "v8");
}
