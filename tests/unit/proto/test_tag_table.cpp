#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "tag_table.hpp"

using lon::proto::TagTable;

namespace {

using Table = TagTable<std::shared_ptr<int>>;

std::shared_ptr<int> v(int x) { return std::make_shared<int>(x); }

std::vector<std::pair<std::uint64_t, int>> entries(const Table& t) {
    std::vector<std::pair<std::uint64_t, int>> out;
    t.for_each([&out](std::uint64_t tag, const std::shared_ptr<int>& p) { out.emplace_back(tag, *p); });
    return out;
}

} // namespace

TEST_CASE("a reply's tag finds its request once, in any order", "[tag_table]") {
    Table t;
    REQUIRE(t.add(1, v(10)));
    REQUIRE(t.add(2, v(20)));
    REQUIRE(t.add(3, v(30)));
    CHECK(t.size() == 3);
    auto two = t.take(2);
    REQUIRE(two);
    CHECK(*two == 20);
    CHECK_FALSE(t.take(2)); // answered already: a second reply with that tag finds nothing
    CHECK(*t.take(3) == 30);
    CHECK(*t.take(1) == 10);
    CHECK(t.empty());
    CHECK_FALSE(t.take(1));
}

TEST_CASE("tags never handed out, below the oldest or past the newest, find nothing", "[tag_table]") {
    Table t;
    CHECK_FALSE(t.take(0));
    CHECK_FALSE(t.take(7));
    REQUIRE(t.add(5, v(50)));
    CHECK_FALSE(t.take(4));
    CHECK_FALSE(t.take(6));
    CHECK_FALSE(t.take(UINT64_MAX));
    CHECK(t.size() == 1);
    CHECK(*t.take(5) == 50);
}

TEST_CASE("gaps (a ping's tag) are skipped and not counted", "[tag_table]") {
    Table t;
    REQUIRE(t.add(1, v(1)));
    REQUIRE(t.add(4, v(4))); // tags 2 and 3 went to pings
    CHECK(t.size() == 2);
    CHECK_FALSE(t.take(2));
    CHECK_FALSE(t.take(3));
    CHECK(entries(t) == std::vector<std::pair<std::uint64_t, int>>{{1, 1}, {4, 4}});
    CHECK(*t.take(1) == 1);
    CHECK(entries(t) == std::vector<std::pair<std::uint64_t, int>>{{4, 4}});
    CHECK(*t.take(4) == 4);
    CHECK(t.empty());
}

TEST_CASE("a tag not above every stored one is refused", "[tag_table]") {
    Table t;
    REQUIRE(t.add(3, v(3)));
    CHECK_FALSE(t.add(3, v(33)));
    CHECK_FALSE(t.add(2, v(2)));
    CHECK(t.size() == 1);
    CHECK(*t.take(3) == 3);
    // Empty again: the next tag starts a new span (tags only grow in a connection).
    REQUIRE(t.add(9, v(9)));
    CHECK(entries(t) == std::vector<std::pair<std::uint64_t, int>>{{9, 9}});
}

TEST_CASE("an unanswered old request keeps the table's span; answering it frees the span", "[tag_table]") {
    Table t;
    for (std::uint64_t tag = 1; tag <= 1000; ++tag) {
        REQUIRE(t.add(tag, v(static_cast<int>(tag))));
    }
    for (std::uint64_t tag = 2; tag <= 1000; ++tag) {
        REQUIRE(t.take(tag));
    }
    CHECK(t.size() == 1);
    CHECK(entries(t) == std::vector<std::pair<std::uint64_t, int>>{{1, 1}});
    CHECK(*t.take(1) == 1);
    CHECK(t.empty());
    REQUIRE(t.add(1001, v(1001)));
    CHECK(entries(t) == std::vector<std::pair<std::uint64_t, int>>{{1001, 1001}});
}

TEST_CASE("drain hands every entry out, oldest first, and empties the table", "[tag_table]") {
    Table t;
    REQUIRE(t.add(1, v(1)));
    REQUIRE(t.add(2, v(2)));
    REQUIRE(t.add(5, v(5)));
    CHECK(t.take(2));
    std::vector<std::uint64_t> seen;
    t.drain([&](std::uint64_t tag, std::shared_ptr<int> p) {
        seen.push_back(tag);
        CHECK(static_cast<std::uint64_t>(*p) == tag);
        // Re-entry while draining (a finished request's callback) sees an empty table.
        CHECK(t.empty());
    });
    CHECK(seen == std::vector<std::uint64_t>{1, 5});
    CHECK(t.empty());
    CHECK_FALSE(t.take(5));
}

TEST_CASE("one request left unanswered does not make the table grow with the traffic behind it",
          "[tag_table]") {
    Table t;
    REQUIRE(t.add(1, v(1))); // hung on the peer
    const std::uint64_t n = 100000;
    std::size_t widest = 0;
    for (std::uint64_t tag = 2; tag <= n; ++tag) {
        REQUIRE(t.add(tag, v(static_cast<int>(tag))));
        widest = std::max(widest, t.span());
        REQUIRE(t.take(tag)); // answered at once
    }
    CHECK(widest <= Table::min_span + 1);
    CHECK(t.size() == 1);
    // Many in flight at once: the span follows them, and the old one is still found.
    for (std::uint64_t tag = n + 1; tag <= n + 3000; ++tag) {
        REQUIRE(t.add(tag, v(static_cast<int>(tag))));
    }
    CHECK(t.size() == 3001);
    CHECK(t.span() <= 3000 * Table::span_factor);
    std::vector<std::uint64_t> order;
    t.for_each([&](std::uint64_t tag, const std::shared_ptr<int>&) { order.push_back(tag); });
    REQUIRE(order.size() == 3001);
    CHECK(order.front() == 1); // oldest first, the straggler included
    CHECK(std::is_sorted(order.begin(), order.end()));
    CHECK(*t.take(1) == 1);
    CHECK_FALSE(t.take(1));
    CHECK(*t.take(n + 1500) == static_cast<int>(n + 1500));
    std::vector<std::uint64_t> drained;
    t.drain([&](std::uint64_t tag, std::shared_ptr<int>) { drained.push_back(tag); });
    CHECK(drained.size() == 2999);
    CHECK(std::is_sorted(drained.begin(), drained.end()));
    CHECK(t.empty());
    CHECK_FALSE(t.add(n, v(0))); // tags only grow
}

TEST_CASE("stragglers are found, taken once and drained oldest first", "[tag_table]") {
    Table t;
    for (std::uint64_t tag = 1; tag <= 5; ++tag) {
        REQUIRE(t.add(tag, v(static_cast<int>(tag))));
    }
    // Push them out of the deque's way with a long answered run.
    for (std::uint64_t tag = 6; tag <= 20000; ++tag) {
        REQUIRE(t.add(tag, v(0)));
        REQUIRE(t.take(tag));
    }
    CHECK(t.size() == 5);
    CHECK(t.span() <= Table::min_span + 1);
    CHECK(*t.take(3) == 3);
    CHECK_FALSE(t.take(3));
    std::vector<std::uint64_t> drained;
    t.drain([&](std::uint64_t tag, std::shared_ptr<int> p) {
        CHECK(static_cast<std::uint64_t>(*p) == tag);
        drained.push_back(tag);
    });
    CHECK(drained == std::vector<std::uint64_t>{1, 2, 4, 5});
}
