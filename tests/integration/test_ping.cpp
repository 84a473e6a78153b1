#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>

#include "harness.hpp"

using namespace it;

TEST_CASE("cluster: ping, pong and echo in every direction", "[integration]") {
    Cluster c;
    c.start_all();
    for (int from = 0; from < 3; ++from) {
        for (int to = 0; to < 3; ++to) {
            if (from == to) {
                continue;
            }
            INFO(c.id(from) << " -> " << c.id(to));
            CHECK(c.request(from, to, "ping") == c.id(to));
            CHECK(c.request(from, to, "pong") == c.id(to) + ":" + c.id(from));
            CHECK(c.request(from, to, "echo:hello%20world%3a%c3%a9 with spaces") ==
                  "hello%20world%3a%c3%a9 with spaces");
        }
    }
}

TEST_CASE("cluster: time, load, version and unknown commands", "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    long t = std::stol(c.request(0, 1, "time"));
    CHECK(std::abs(t - static_cast<long>(std::time(nullptr))) < 5);
    std::string load = c.request(0, 1, "load");
    CHECK(load.find_first_not_of("0123456789.") == std::string::npos);
    CHECK(c.request(0, 1, "version").rfind("lonlink=", 0) == 0);
    CHECK(c.request(0, 1, "no_such_command:x") == "unknown_cmd");
}

TEST_CASE("lonreply: prints the reply and sets the exit status", "[integration]") {
    Cluster c(hosts(2));
    c.start_all();
    auto cfg = c.config(0).string();
    auto ok = run({lonreply_bin().string(), "--config", cfg, c.id(1), "ping"});
    CHECK(ok.code == 0);
    CHECK(ok.output == c.id(1) + "\n");
    auto unknown = run({lonreply_bin().string(), "--config", cfg, c.id(1), "bogus"});
    CHECK(unknown.code == 1);
    CHECK(unknown.output == "unknown_cmd\n");
    c.stop_lond(1);
    auto lost = run({lonreply_bin().string(), "--config", cfg, c.id(1), "ping"});
    CHECK(lost.code == 1);
    CHECK(lost.output == "con_lost\n");
    auto usage = run({lonreply_bin().string(), "--config", cfg, "nosuchpeer", "ping"});
    CHECK(usage.code == 2);
}
