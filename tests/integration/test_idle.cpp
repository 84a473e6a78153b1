// An idle lonc child exits after idle_timeout; the next local client gets a new one.

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

TEST_CASE("an idle lonc child exits and a new client gets a new child and a working link",
          "[integration]") {
    ClusterOptions o = hosts(2);
    o.lonc.idle_timeout = "1s";
    Cluster c(o);
    c.start_all();
    const std::string parent_idle = title::lonc_parent(c.id(0), 0);
    const std::string parent_one = title::lonc_parent(c.id(0), 1);
    const std::string linked = title::lonc_linked(c.id(1), 1, 3);

    pid_t first = -1;
    {
        UnixClient u(c.socket(0, 1));
        REQUIRE(u.connected());
        REQUIRE(u.request("ping") == c.id(1));
        first = c.lonc_child(0, 1);
        REQUIRE(first > 0);
        CHECK(await_title(c.lonc_pid(0), parent_one) == parent_one);
        // While a client stays connected the child stays, even past idle_timeout.
        CHECK_FALSE(wait_until(1500ms, [&] { return !alive(first); }));
        CHECK(u.request("ping") == c.id(1));
    } // the client disconnects

    CHECK(wait_until(5s, [&] { return !alive(first); }));
    CHECK(await_title(c.lonc_pid(0), parent_idle) == parent_idle);
    CHECK(children_of(c.lonc_pid(0)).empty());
    CHECK(std::filesystem::exists(c.socket(0, 1))); // the parent listens again

    UnixClient again(c.socket(0, 1));
    REQUIRE(again.connected());
    CHECK(again.request("ping") == c.id(1));
    pid_t second = c.lonc_child(0, 1);
    CHECK(second > 0);
    CHECK(second != first);
    CHECK(await_title(second, linked) == linked);
    CHECK(await_title(c.lonc_pid(0), parent_one) == parent_one);
    CHECK(again.request("echo:back again") == "back again");
}
