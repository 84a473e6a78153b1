#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "link_metrics.hpp"
#include "prom_text.hpp"

TEST_CASE("PromText: names, label names and types are checked", "[metrics]") {
    CHECK(lon::prom_valid_name("lonlink_peer_requests_total"));
    CHECK(lon::prom_valid_name("a:b_c9"));
    CHECK_FALSE(lon::prom_valid_name(""));
    CHECK_FALSE(lon::prom_valid_name("9lives"));
    CHECK_FALSE(lon::prom_valid_name("has-dash"));
    CHECK_FALSE(lon::prom_valid_name("sp ace"));
    CHECK(lon::prom_valid_label_name("peer"));
    CHECK_FALSE(lon::prom_valid_label_name("a:b"));
    CHECK_FALSE(lon::prom_valid_label_name("__reserved"));
    CHECK_FALSE(lon::prom_valid_label_name("1x"));

    lon::PromText t;
    CHECK_FALSE(t.declare("lonlink_requests", lon::PromType::counter, "no _total"));
    CHECK(t.declare("lonlink_requests_total", lon::PromType::counter, "ok"));
    CHECK_FALSE(t.declare("lonlink_requests_total", lon::PromType::gauge, "twice"));
    CHECK_FALSE(t.declare("bad-name", lon::PromType::gauge, "x"));
    CHECK_FALSE(t.sample("lonlink_undeclared", {}, 1));
    CHECK_FALSE(t.sample("lonlink_requests_total", {{"bad-label", "x"}}, 1));
    CHECK(t.text() == "# HELP lonlink_requests_total ok\n# TYPE lonlink_requests_total counter\n");
}

TEST_CASE("PromText: label values and HELP are escaped per the text format", "[metrics]") {
    CHECK(lon::prom_escape_label(R"(a\b"c)" "\n" "d") == R"(a\\b\"c\nd)");
    CHECK(lon::prom_escape_label("plain-id_1") == "plain-id_1");
    CHECK(lon::prom_escape_help("back\\slash \"quotes\"\nline") ==
          "back\\\\slash \"quotes\"\\nline");

    lon::PromText t;
    REQUIRE(t.declare("lonlink_x", lon::PromType::gauge, "two\nlines"));
    REQUIRE(t.sample("lonlink_x", {{"peer", "q\"\\\n"}, {"reason", "r"}}, 3));
    CHECK(t.text() == "# HELP lonlink_x two\\nlines\n# TYPE lonlink_x gauge\n"
                      "lonlink_x{peer=\"q\\\"\\\\\\n\",reason=\"r\"} 3\n");
}

TEST_CASE("PromText: values, and samples grouped under their family", "[metrics]") {
    CHECK(lon::prom_value(0) == "0");
    CHECK(lon::prom_value(1732900000) == "1732900000");
    CHECK(lon::prom_value(-3) == "-3");
    CHECK(lon::prom_value(0.5) == "0.5");
    CHECK(lon::prom_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    CHECK(lon::prom_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(lon::prom_value(-std::numeric_limits<double>::infinity()) == "-Inf");

    lon::PromText t;
    REQUIRE(t.declare("lonlink_a", lon::PromType::gauge, "A"));
    REQUIRE(t.declare("lonlink_b_total", lon::PromType::counter, "B"));
    REQUIRE(t.sample("lonlink_b_total", {{"peer", "p1"}}, 1));
    REQUIRE(t.sample("lonlink_a", {}, 2));
    REQUIRE(t.sample("lonlink_b_total", {{"peer", "p2"}}, 5));
    CHECK(t.text() == "# HELP lonlink_a A\n# TYPE lonlink_a gauge\nlonlink_a 2\n"
                      "# HELP lonlink_b_total B\n# TYPE lonlink_b_total counter\n"
                      "lonlink_b_total{peer=\"p1\"} 1\nlonlink_b_total{peer=\"p2\"} 5\n");
}

TEST_CASE("parse_flat_json: top level, nested objects, escapes; junk refused", "[metrics]") {
    auto j = lon::parse_flat_json(
        R"({"peer":"ms\"u\\l2","n":12,"neg":-1.5,"b":true,"z":null,"arr":[1,{"x":2}],"counters":{"requests":7,"con_lost":0}})");
    REQUIRE(j);
    CHECK(j->at("peer") == "ms\"u\\l2");
    CHECK(j->at("n") == "12");
    CHECK(j->at("neg") == "-1.5");
    CHECK(j->at("b") == "true");
    CHECK(j->at("z") == "null");
    CHECK(j->at("counters.requests") == "7");
    CHECK(j->count("arr") == 0);
    CHECK_FALSE(lon::parse_flat_json(""));
    CHECK_FALSE(lon::parse_flat_json("{\"a\":"));
    CHECK_FALSE(lon::parse_flat_json("{\"a\":1"));
    CHECK_FALSE(lon::parse_flat_json("[1]"));
    CHECK_FALSE(lon::parse_flat_json("{\"a\":1} trailing"));
}

TEST_CASE("parse_peer_status: a lonc child's status file", "[metrics]") {
    auto m = lon::parse_peer_status(
        R"({"role":"lonc","peer":"msul2","pid":9,"state":"linked","connections":2,)"
        R"("retries_remaining":4,"mode":"ssl","spooled":3,"peer_cert_not_after":1900000000,)"
        R"("counters":{"requests":10,"con_lost":2,"critical_spooled":4,"critical_delivered":1,)"
        R"("queue_full":5,"keepalive_timeouts":1}})");
    REQUIRE(m);
    CHECK(m->peer == "msul2");
    CHECK(m->state == "linked");
    CHECK(m->mode == "ssl");
    CHECK(m->connections == 2);
    CHECK(m->retries_remaining == 4);
    CHECK(m->spool_depth == 3);
    CHECK(m->peer_cert_not_after == 1900000000);
    CHECK(m->counts.requests == 10);
    CHECK(m->counts.con_lost == 2);
    CHECK(m->counts.critical_spooled == 4);
    CHECK(m->counts.critical_delivered == 1);
    CHECK(m->counts.refusals.at("queue_full") == 5);
    CHECK(m->counts.refusals.count("keepalive_timeouts") == 0);

    auto d = lon::parse_peer_status(
        R"({"role":"lond","peer":"msul1","state":"idle","connections":0,"mode":null,"counters":{"requests":3}})");
    REQUIRE(d);
    CHECK(d->mode.empty());
    CHECK_FALSE(d->retries_remaining);
    CHECK_FALSE(d->peer_cert_not_after);
    CHECK_FALSE(lon::parse_peer_status("{\"role\":\"lonc\"}")); // no peer
}

TEST_CASE("PeerTotals: counts survive the child that made them", "[metrics]") {
    lon::PeerTotals t;
    lon::PeerCounts c;
    c.requests = 5;
    c.refusals["too_long"] = 1;
    t.observe("p", c);
    CHECK(t.total("p").requests == 5);
    t.retire("p");
    CHECK(t.total("p").requests == 5);
    c.requests = 2;
    t.observe("p", c); // a new child, counting from zero
    CHECK(t.total("p").requests == 7);
    CHECK(t.total("p").refusals.at("too_long") == 2);
    t.forget("p");
    CHECK(t.total("p").requests == 0);
}

TEST_CASE("format_metrics: every family declared once, per-peer labels, lonc-only omitted",
          "[metrics]") {
    lon::DaemonMetrics m;
    m.daemon = "lonc";
    m.children = 1;
    m.own_cert_not_after = 1900000001;
    lon::PeerMetrics a;
    a.peer = "msul2";
    a.state = "linked";
    a.mode = "ssl";
    a.connections = 1;
    a.retries_remaining = 5;
    a.spool_depth = 0;
    a.peer_cert_not_after = 1900000000;
    a.counts.requests = 3;
    a.counts.refusals["queue_full"] = 2;
    lon::PeerMetrics b;
    b.peer = "msul3";
    m.peers = {a, b};
    m.refusals["queue_full"] = 2;
    std::string text = lon::format_metrics(m);
    CHECK(text.find("lonlink_children 1\n") != std::string::npos);
    CHECK(text.find("lonlink_refusals_total{reason=\"queue_full\"} 2\n") != std::string::npos);
    CHECK(text.find("lonlink_peer_requests_total{peer=\"msul2\"} 3\n") != std::string::npos);
    CHECK(text.find("lonlink_peer_state{peer=\"msul2\",state=\"linked\"} 1\n") != std::string::npos);
    CHECK(text.find("lonlink_peer_state{peer=\"msul3\",state=\"idle\"} 1\n") != std::string::npos);
    CHECK(text.find("lonlink_peer_mode{peer=\"msul2\",mode=\"ssl\"} 1\n") != std::string::npos);
    CHECK(text.find("lonlink_peer_mode{peer=\"msul3\",mode=\"ssl\"} 0\n") != std::string::npos);
    CHECK(text.find("lonlink_peer_certificate_expiry_timestamp_seconds{peer=\"msul2\"} 1900000000\n") !=
          std::string::npos);
    CHECK(text.find("certificate_expiry_timestamp_seconds{peer=\"msul3\"}") == std::string::npos);
    CHECK(text.find("lonlink_own_certificate_expiry_timestamp_seconds 1900000001\n") !=
          std::string::npos);
    CHECK(text.find("lonlink_peer_retries_remaining{peer=\"msul2\"} 5\n") != std::string::npos);
    CHECK(text.find("# TYPE lonlink_peer_requests_total counter\n") != std::string::npos);
    CHECK(text.find("# TYPE lonlink_peer_connections gauge\n") != std::string::npos);
    // Each family's HELP and TYPE exactly once.
    auto count = [&](const std::string& s) {
        std::size_t n = 0;
        for (auto p = text.find(s); p != std::string::npos; p = text.find(s, p + 1)) {
            ++n;
        }
        return n;
    };
    CHECK(count("# TYPE lonlink_peer_state ") == 1);
    CHECK(count("# HELP lonlink_peer_state ") == 1);

    m.daemon = "lond"; // lonc-only families absent, not zero
    m.peers[0].retries_remaining.reset();
    m.peers[0].spool_depth.reset();
    m.peers[1].retries_remaining.reset();
    m.peers[1].spool_depth.reset();
    text = lon::format_metrics(m);
    CHECK(text.find("lonlink_peer_retries_remaining") == std::string::npos);
    CHECK(text.find("lonlink_peer_spool_depth") == std::string::npos);
    CHECK(text.find("lonlink_peer_con_lost_total") == std::string::npos);
}
