// Large messages and a child's heap (daemons/link/heap.hpp, HeapKeeper): while 1 MiB
// messages pass, the children keep the heap they free for the next ones (no page faults per
// message); a few seconds after the last one they give it back, so a link that once carried
// large messages does not hold that memory for the rest of its life.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "harness.hpp"

using namespace it;

TEST_CASE("after a burst of 1 MiB messages both children give the memory back within seconds",
          "[integration][large-heap]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t lonc_child = c.lonc_child(0, 1);
    pid_t lond_child = c.lond_child(1, 0);
    REQUIRE(lonc_child > 0);
    REQUIRE(lond_child > 0);
    long lonc_before = private_kb(lonc_child);
    long lond_before = private_kb(lond_child);

    // 8 clients, 4 rounds of one 1 MiB echo each: tens of MiB through both children.
    const std::string payload(1024 * 1024, 'm');
    std::vector<std::unique_ptr<UnixClient>> clients;
    for (int i = 0; i < 8; ++i) {
        clients.push_back(std::make_unique<UnixClient>(c.socket(0, 1)));
        REQUIRE(clients.back()->connected());
    }
    for (int round = 0; round < 4; ++round) {
        for (auto& u : clients) {
            u->send("echo:" + payload + "\n");
        }
        for (auto& u : clients) {
            auto reply = u->read_line(30s);
            REQUIRE(reply.has_value());
            REQUIRE(reply->size() == payload.size());
        }
    }
    clients.clear();
    long lonc_busy = private_kb(lonc_child);
    long lond_busy = private_kb(lond_child);
    INFO("lonc child private kB: " << lonc_before << " before, " << lonc_busy
                                   << " after the burst; lond child: " << lond_before << ", "
                                   << lond_busy);
    if (sanitized_build()) {
        return; // ASan's allocator keeps its own quarantine: nothing of ours to measure
    }
    // Given back: within 512 KiB of before. (Measured when this test was written: lonc
    // 836 -> 30,036 kB after the burst -> 940 kB; before HeapKeeper 812 -> 20,004 -> 13,860
    // kB kept for good, and with the trim but framers keeping their room 3,000 kB.)
    long lonc_after = -1;
    long lond_after = -1;
    bool back = wait_until(10s, [&] {
        lonc_after = private_kb(lonc_child);
        lond_after = private_kb(lond_child);
        return lonc_after <= lonc_before + 512 && lond_after <= lond_before + 512;
    });
    INFO("after waiting: lonc " << lonc_after << " kB, lond " << lond_after << " kB");
    CHECK(back);
    CHECK(c.request(0, 1, "echo:still") == "still");
}
