// metrics_dir (issue 10 §6): each daemon parent rewrites <metrics_dir>/<daemon>.prom in the
// Prometheus text exposition format; every line is checked against the format's rules by a
// strict validator written here (and by promtool when it is installed), and the values
// against what the test did. And loncontrol status (§5): every column for both directions.

#include <cmath>
#include <ctime>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

bool valid_metric_name(const std::string& s) {
    static const std::regex re("[a-zA-Z_:][a-zA-Z0-9_:]*");
    return std::regex_match(s, re);
}

bool valid_label_name(const std::string& s) {
    static const std::regex re("[a-zA-Z_][a-zA-Z0-9_]*");
    return std::regex_match(s, re) && s.rfind("__", 0) != 0;
}

bool valid_value(const std::string& s) {
    if (s == "NaN" || s == "+Inf" || s == "-Inf") {
        return true;
    }
    static const std::regex re(R"([-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?)");
    return std::regex_match(s, re);
}

/// One parsed sample: name, labels, value.
struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

/// The text format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats), strictly:
/// every line ends in '\n' and is a HELP, a TYPE or a sample (no blank or other comment
/// lines); HELP and TYPE at most once per family and before its samples; a family's samples
/// together; every sample's family has a TYPE; label names valid and not repeated; label
/// values quoted with only \\, \" and \n escapes; values floats (or NaN, +Inf, -Inf); no two
/// samples with the same name and labels; our own rules: names start lonlink_, counters end
/// _total. Returns the problems (empty: valid) and fills `samples`.
std::vector<std::string> validate(const std::string& text, std::vector<Sample>& samples) {
    std::vector<std::string> problems;
    if (text.empty() || text.back() != '\n') {
        problems.emplace_back("does not end in a newline");
    }
    std::map<std::string, std::string> types;
    std::set<std::string> helps, finished, series;
    std::string current; // the family whose lines come now
    std::istringstream in(text);
    std::string line;
    int n = 0;
    auto fail = [&](const std::string& why) {
        problems.push_back("line " + std::to_string(n) + ": " + why + ": [" + line + "]");
    };
    auto enter = [&](const std::string& family) {
        if (family == current) {
            return true;
        }
        if (finished.count(family) > 0) {
            return false; // its lines were interrupted by another family's
        }
        if (!current.empty()) {
            finished.insert(current);
        }
        current = family;
        return true;
    };
    while (std::getline(in, line)) {
        ++n;
        if (line.empty()) {
            fail("blank line");
            continue;
        }
        if (line[0] == '#') {
            static const std::regex meta(R"(# (HELP|TYPE) ([^ ]+) (.*))");
            std::smatch m;
            if (!std::regex_match(line, m, meta)) {
                fail("comment that is neither HELP nor TYPE");
                continue;
            }
            std::string kind = m[1], name = m[2], rest = m[3];
            if (!valid_metric_name(name)) {
                fail("bad metric name");
            }
            if (!enter(name)) {
                fail("family interrupted");
            }
            if (kind == "HELP") {
                if (!helps.insert(name).second) {
                    fail("second HELP");
                }
                for (std::size_t i = 0; i < rest.size(); ++i) {
                    if (rest[i] == '\\') {
                        if (i + 1 >= rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n')) {
                            fail("bad escape in HELP");
                        }
                        ++i;
                    }
                }
                if (rest.empty()) {
                    fail("empty HELP");
                }
            } else {
                static const std::set<std::string> kinds{"counter", "gauge", "histogram",
                                                         "summary", "untyped"};
                if (kinds.count(rest) == 0) {
                    fail("unknown TYPE");
                }
                if (types.count(name) > 0) {
                    fail("second TYPE");
                }
                if (std::any_of(samples.begin(), samples.end(),
                                [&](const Sample& s) { return s.name == name; })) {
                    fail("TYPE after samples");
                }
                types[name] = rest;
                if (rest == "counter" && (name.size() < 6 || name.substr(name.size() - 6) != "_total")) {
                    fail("counter without _total");
                }
            }
            if (name.rfind("lonlink_", 0) != 0) {
                fail("name not prefixed lonlink_");
            }
            continue;
        }
        // name{labels} value [timestamp]
        Sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') {
            ++i;
        }
        s.name = line.substr(0, i);
        if (!valid_metric_name(s.name)) {
            fail("bad sample name");
        }
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                std::size_t eq = line.find('=', i);
                if (eq == std::string::npos) {
                    fail("label without =");
                    break;
                }
                std::string key = line.substr(i, eq - i);
                if (!valid_label_name(key)) {
                    fail("bad label name '" + key + "'");
                }
                i = eq + 1;
                if (i >= line.size() || line[i] != '"') {
                    fail("label value not quoted");
                    break;
                }
                ++i;
                std::string val;
                bool closed = false;
                while (i < line.size()) {
                    char ch = line[i++];
                    if (ch == '"') {
                        closed = true;
                        break;
                    }
                    if (ch == '\\') {
                        if (i >= line.size()) {
                            break;
                        }
                        char e = line[i++];
                        if (e == 'n') {
                            val += '\n';
                        } else if (e == '\\' || e == '"') {
                            val += e;
                        } else {
                            fail("bad escape in label value");
                        }
                    } else {
                        val += ch;
                    }
                }
                if (!closed) {
                    fail("unterminated label value");
                    break;
                }
                if (!s.labels.emplace(key, val).second) {
                    fail("repeated label " + key);
                }
                if (i < line.size() && line[i] == ',') {
                    ++i;
                }
            }
            if (i >= line.size() || line[i] != '}') {
                fail("labels not closed");
                continue;
            }
            ++i;
        }
        if (i >= line.size() || line[i] != ' ') {
            fail("no space before the value");
            continue;
        }
        std::istringstream rest(line.substr(i + 1));
        std::string value, stamp, extra;
        rest >> value >> stamp >> extra;
        if (!valid_value(value)) {
            fail("bad value");
        } else {
            s.value = value == "NaN" ? std::nan("") : std::stod(value);
        }
        if (!stamp.empty() && !std::regex_match(stamp, std::regex("-?[0-9]+"))) {
            fail("bad timestamp");
        }
        if (!extra.empty() || line.substr(i + 1).find("  ") != std::string::npos) {
            fail("trailing text");
        }
        if (types.count(s.name) == 0) {
            fail("sample without TYPE");
        }
        if (!enter(s.name)) {
            fail("family interrupted");
        }
        std::string key = s.name;
        for (const auto& [k, v] : s.labels) {
            key += "|" + k + "=" + v;
        }
        if (!series.insert(key).second) {
            fail("duplicate series");
        }
        samples.push_back(std::move(s));
    }
    return problems;
}

/// The value of the sample `name` with exactly `labels`, or nullopt.
std::optional<double> value_of(const std::vector<Sample>& samples, const std::string& name,
                               const std::map<std::string, std::string>& labels = {}) {
    for (const auto& s : samples) {
        if (s.name == name && s.labels == labels) {
            return s.value;
        }
    }
    return std::nullopt;
}

/// notAfter of a PEM certificate, in unix seconds (openssl and date, as an admin would).
long long not_after(const std::filesystem::path& cert) {
    auto r = run({"/usr/bin/openssl", "x509", "-in", cert.string(), "-noout", "-enddate"});
    REQUIRE(r.code == 0);
    std::string end = r.out.substr(r.out.find('=') + 1);
    while (!end.empty() && end.back() == '\n') {
        end.pop_back();
    }
    auto d = run({"/usr/bin/date", "-u", "-d", end, "+%s"});
    REQUIRE(d.code == 0);
    return std::stoll(d.out);
}

/// Reads and validates `file`; fails the test with every problem found.
std::vector<Sample> checked(const std::filesystem::path& file) {
    std::string text = read_file(file);
    INFO(file.string() << ":\n" << text);
    std::vector<Sample> samples;
    auto problems = validate(text, samples);
    for (const auto& p : problems) {
        FAIL_CHECK(p);
    }
    CHECK(problems.empty());
    return samples;
}

} // namespace

TEST_CASE("metrics: the validator refuses what the text format forbids", "[metrics]") {
    std::vector<Sample> s;
    CHECK(validate("# HELP lonlink_a x\n# TYPE lonlink_a gauge\nlonlink_a{peer=\"p\"} 1\n", s).empty());
    for (const char* bad : {
             "# TYPE lonlink_a gauge\nlonlink_a 1",                       // no final newline
             "lonlink_a 1\n",                                             // no TYPE
             "# TYPE lonlink_a gauge\nlonlink_a{peer=p} 1\n",             // unquoted
             "# TYPE lonlink_a gauge\nlonlink_a{peer=\"a\\tb\"} 1\n",     // bad escape
             "# TYPE lonlink_a gauge\nlonlink_a{peer=\"a\",peer=\"b\"} 1\n",
             "# TYPE lonlink_a gauge\nlonlink_a one\n",
             "# TYPE lonlink_a counter\nlonlink_a 1\n",                    // counter w/o _total
             "# TYPE lonlink_a gauge\nlonlink_a 1\nlonlink_a 2\n",        // duplicate series
             "# TYPE lonlink_a gauge\n# TYPE lonlink_b gauge\nlonlink_a 1\n", // interrupted
             "# TYPE lonlink_a gauge\n\nlonlink_a 1\n",                   // blank line
             "# TYPE other gauge\nother 1\n",                             // prefix
             "# TYPE lonlink_a gauge\nlonlink_a{__x=\"1\"} 1\n",
         }) {
        s.clear();
        INFO(bad);
        CHECK_FALSE(validate(bad, s).empty());
    }
}

TEST_CASE("metrics: both daemons write valid .prom files with the link's numbers",
          "[integration][metrics]") {
    ClusterOptions o = hosts(2);
    o.extra_yaml = "metrics_dir: metrics\n"; // relative to the config file's folder
    Cluster c(o);
    c.issue_certificate(0);
    c.issue_certificate(1);
    c.start_all();
    constexpr int sent = 7;
    for (int i = 0; i < sent; ++i) {
        REQUIRE(c.request(0, 1, "echo:m" + std::to_string(i)) == "m" + std::to_string(i));
    }
    auto lonc_prom = c.dir(0) / "metrics" / "lonc.prom";
    auto lond_prom = c.dir(1) / "metrics" / "lond.prom";
    std::string peer1 = c.id(1), peer0 = c.id(0);
    // Rewritten every 5 s; the children publish their counters within a second.
    bool seen = wait_until(20s, [&] {
        std::vector<Sample> s;
        auto text = read_file(lonc_prom);
        validate(text, s);
        return value_of(s, "lonlink_peer_requests_total", {{"peer", peer1}}) == sent;
    });
    INFO(read_file(lonc_prom));
    INFO(read_file(c.log_file(0, "lonc")));
    REQUIRE(seen);
    REQUIRE(wait_until(20s, [&] {
        std::vector<Sample> s;
        validate(read_file(lond_prom), s);
        auto v = value_of(s, "lonlink_peer_requests_total", {{"peer", peer0}});
        return v && *v >= sent;
    }));

    auto out = checked(lonc_prom);
    CHECK(value_of(out, "lonlink_children") == 1);
    CHECK(value_of(out, "lonlink_peers") == 1);
    CHECK(value_of(out, "lonlink_peer_state", {{"peer", peer1}, {"state", "linked"}}) == 1);
    CHECK(value_of(out, "lonlink_peer_state", {{"peer", peer1}, {"state", "dead"}}) == 0);
    CHECK(value_of(out, "lonlink_peer_mode", {{"peer", peer1}, {"mode", "ssl"}}) == 1);
    CHECK(value_of(out, "lonlink_peer_mode", {{"peer", peer1}, {"mode", "insecure"}}) == 0);
    auto conns = value_of(out, "lonlink_peer_connections", {{"peer", peer1}});
    CHECK((conns && *conns >= 1));
    CHECK(value_of(out, "lonlink_peer_retries_remaining", {{"peer", peer1}}) == o.lonc.retries);
    CHECK(value_of(out, "lonlink_peer_con_lost_total", {{"peer", peer1}}) == 0);
    CHECK(value_of(out, "lonlink_peer_critical_spooled_total", {{"peer", peer1}}) == 0);
    CHECK(value_of(out, "lonlink_peer_spool_depth", {{"peer", peer1}}) == 0);
    CHECK(value_of(out, "lonlink_peer_certificate_expiry_timestamp_seconds", {{"peer", peer1}}) ==
          static_cast<double>(not_after(c.dir(1) / "certs" / "lonhostcert.pem")));
    CHECK(value_of(out, "lonlink_own_certificate_expiry_timestamp_seconds") ==
          static_cast<double>(not_after(c.dir(0) / "certs" / "lonhostcert.pem")));
    CHECK(value_of(out, "lonlink_refusals_total", {{"reason", "queue_full"}}) == 0);

    auto in = checked(lond_prom);
    CHECK(value_of(in, "lonlink_children") == 1);
    CHECK(value_of(in, "lonlink_peer_state", {{"peer", peer0}, {"state", "linked"}}) == 1);
    CHECK(value_of(in, "lonlink_peer_mode", {{"peer", peer0}, {"mode", "ssl"}}) == 1);
    CHECK(value_of(in, "lonlink_peer_certificate_expiry_timestamp_seconds", {{"peer", peer0}}) ==
          static_cast<double>(not_after(c.dir(0) / "certs" / "lonhostcert.pem")));
    CHECK(value_of(in, "lonlink_own_certificate_expiry_timestamp_seconds") ==
          static_cast<double>(not_after(c.dir(1) / "certs" / "lonhostcert.pem")));
    CHECK(value_of(in, "lonlink_refusals_total", {{"reason", "unknown_host"}}) == 0);

    // A stranger is refused by host 1's lond parent: counted by reason.
    {
        TcpClient t(c.stranger_address(), c.address(1), lon_port);
        t.send("init:1:nosuchhost:" + c.id(1) + ":insecure\n");
        CHECK(t.closed_by_peer());
    }
    CHECK(wait_until(20s, [&] {
        std::vector<Sample> s;
        validate(read_file(lond_prom), s);
        return value_of(s, "lonlink_refusals_total", {{"reason", "unknown_host"}}) == 1;
    }));
    checked(lond_prom);

    // The other files of each host: lonc.prom on host 1 (no child yet: idle) and lond.prom
    // on host 0; both valid too.
    REQUIRE(wait_until(20s, [&] {
        return std::filesystem::exists(c.dir(1) / "metrics" / "lonc.prom") &&
               std::filesystem::exists(c.dir(0) / "metrics" / "lond.prom");
    }));
    auto idle = checked(c.dir(1) / "metrics" / "lonc.prom");
    CHECK(value_of(idle, "lonlink_peer_state", {{"peer", peer0}, {"state", "idle"}}) == 1);
    checked(c.dir(0) / "metrics" / "lond.prom");

    // promtool, when installed, agrees.
    if (std::filesystem::exists("/usr/bin/promtool")) {
        for (const auto& f : {lonc_prom, lond_prom}) {
            auto r = run({"/bin/sh", "-c", "/usr/bin/promtool check metrics < \"$1\"", "sh", f.string()});
            INFO(r.output);
            CHECK(r.code == 0);
        }
    }
}

TEST_CASE("metrics: a status file not written by the running child is not counted",
          "[integration][metrics]") {
    // A child killed (or one that wrote its file after removing it on the way out) leaves
    // run_dir/lonc.<peer>.json behind; the parent has already added that child's counts to
    // the peer's base, and reads the same name for the next child. Counting the leftover
    // again would make a counter jump up, then fall back (a counter reset to Prometheus,
    // and a false increase()). Simulated here without a race: the file of the running child
    // is replaced by one with another pid and other counts.
    ClusterOptions o = hosts(2);
    o.extra_yaml = "metrics_dir: metrics\n";
    Cluster c(o);
    c.start_all();
    constexpr int sent = 3;
    for (int i = 0; i < sent; ++i) {
        REQUIRE(c.request(0, 1, "echo:s" + std::to_string(i)) == "s" + std::to_string(i));
    }
    auto prom = c.dir(0) / "metrics" / "lonc.prom";
    std::string peer1 = c.id(1);
    auto requests = [&] {
        std::vector<Sample> s;
        validate(read_file(prom), s);
        return value_of(s, "lonlink_peer_requests_total", {{"peer", peer1}});
    };
    REQUIRE(wait_until(20s, [&] { return requests() == sent; }));
    auto status = c.run_dir(0) / ("lonc." + peer1 + ".json");
    std::string text = read_file(status);
    REQUIRE(text.find("\"requests\":" + std::to_string(sent)) != std::string::npos);
    text = std::regex_replace(text, std::regex("\"pid\":[0-9]+"), "\"pid\":999999");
    text = std::regex_replace(text, std::regex("\"requests\":[0-9]+"), "\"requests\":1000");
    {
        auto tmp = status.string() + ".test";
        std::ofstream(tmp) << text;
        std::filesystem::rename(tmp, status);
    }
    // Two rewrites of the .prom file later, the leftover has been read (or ignored).
    for (int i = 0; i < 2; ++i) {
        auto before = std::filesystem::last_write_time(prom);
        REQUIRE(wait_until(20s, [&] {
            std::error_code ec;
            auto t = std::filesystem::last_write_time(prom, ec);
            return !ec && t != before;
        }));
    }
    INFO(read_file(prom));
    CHECK(requests() == sent);
}

TEST_CASE("metrics: without metrics_dir no .prom file is written", "[integration][metrics]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    for (int i = 0; i < 2; ++i) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(c.dir(i))) {
            CHECK(e.path().extension() != ".prom");
        }
    }
}

namespace {

RunResult loncontrol_status(const Cluster& c, int i, bool json = false) {
    std::string bin_dir = lond_bin().parent_path().parent_path().string();
    std::vector<std::string> argv{"/usr/bin/env", "LONLINK_BIN_DIR=" + bin_dir, "/bin/bash",
                                  (scripts_dir() / "loncontrol").string(), "status"};
    if (json) {
        argv.emplace_back("--json");
    }
    argv.insert(argv.end(), {"--config", c.config(i).string()});
    return run(argv, 60s);
}

/// The table rows of `loncontrol status` (after its header line), split into the eleven
/// blank-free columns and the LAST_ERROR text.
std::vector<std::vector<std::string>> status_rows(const std::string& out, std::string& header) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(out);
    std::string line;
    bool table = false;
    while (std::getline(in, line)) {
        if (line.rfind("DIR ", 0) == 0) {
            header = line;
            table = true;
            continue;
        }
        if (!table) {
            continue;
        }
        if (line.rfind("out ", 0) != 0 && line.rfind("in ", 0) != 0) {
            break;
        }
        std::istringstream f(line);
        std::vector<std::string> cols(11);
        for (auto& col : cols) {
            f >> col;
        }
        std::string rest;
        std::getline(f, rest);
        rest.erase(0, rest.find_first_not_of(' '));
        cols.push_back(rest);
        rows.push_back(cols);
    }
    return rows;
}

} // namespace

TEST_CASE("status: every column for both directions, last error, and --json alike",
          "[integration][status]") {
    ClusterOptions opts = hosts(2);
    opts.lonc.idle_timeout = "300s"; // loncontrol runs take seconds on a loaded machine
    Cluster c(opts);
    c.issue_certificate(0);
    c.issue_certificate(1);
    c.start_all();
    constexpr int sent = 4;
    for (int i = 0; i < sent; ++i) {
        REQUIRE(c.request(0, 1, "echo:s" + std::to_string(i)) == "s" + std::to_string(i));
    }
    // The children publish their counters within a second.
    auto requests_seen = [&](int host, const std::string& dir) {
        return [&c, host, dir] {
            std::string header;
            for (const auto& r : status_rows(loncontrol_status(c, host).out, header)) {
                if (r[0] == dir && r[9] != "-" && std::stoi(r[9]) >= sent) {
                    return true;
                }
            }
            return false;
        };
    };
    REQUIRE(wait_until(15s, requests_seen(0, "out")));
    REQUIRE(wait_until(15s, requests_seen(1, "in")));

    auto out = loncontrol_status(c, 0);
    INFO(out.output);
    CHECK(out.code == 0);
    std::string header;
    auto rows = status_rows(out.out, header);
    CHECK(header == "DIR  PEER             STATE      MODE     CONNS RETRIES PINNED CERT_DAYS "
                    "SPOOL REQUESTS PID     LAST_ERROR");
    REQUIRE(rows.size() == 1); // our lonc to host 1 (host 1 sent us nothing: no "in" row)
    auto& o = rows[0];
    CHECK(o[0] == "out");
    CHECK(o[1] == c.id(1));
    CHECK(o[2] == "linked");
    CHECK(o[3] == "ssl");
    CHECK(std::stoi(o[4]) >= 1);
    CHECK(o[5] == "3"); // retries remaining (the harness's lonc.retries)
    CHECK(o[6] == "yes");
    CHECK(std::stoi(o[7]) >= 300); // sign-response's default validity is a year or more
    CHECK(o[8] == "0");
    CHECK(o[9] == std::to_string(sent));
    CHECK(o[10] == std::to_string(c.lonc_child(0, 1)));
    CHECK(o[11] == "-");
    auto in = loncontrol_status(c, 1);
    INFO(in.output);
    auto in_rows = status_rows(in.out, header);
    bool found = false;
    for (const auto& r : in_rows) {
        if (r[0] != "in") {
            continue;
        }
        found = true;
        CHECK(r[1] == c.id(0));
        CHECK(r[2] == "linked");
        CHECK(r[3] == "ssl");
        CHECK(r[5] == "-");
        CHECK(r[6] == "yes");
        CHECK(std::stoi(r[7]) >= 300);
        CHECK(r[8] == "-");
        CHECK(std::stoi(r[9]) >= sent);
        CHECK(r[10] == std::to_string(c.lond_child(1, 0)));
    }
    CHECK(found);

    // The same fields in --json.
    auto j = loncontrol_status(c, 0, true);
    INFO(j.output);
    CHECK(j.out.find("\"table\":[") != std::string::npos);
    CHECK(j.out.find("{\"direction\":\"out\",\"peer\":\"" + c.id(1) +
                     "\",\"state\":\"linked\",\"mode\":\"ssl\",") != std::string::npos);
    CHECK(j.out.find("\"retries\":3,\"pinned\":true,") != std::string::npos);
    CHECK(j.out.find("\"spool\":0,\"requests\":" + std::to_string(sent) + ",") !=
          std::string::npos);
    CHECK(j.out.find("\"last_error\":null,\"last_error_time\":null}") != std::string::npos);

    // The peer's lond goes away: the link's last error is shown, with its time.
    c.stop_lond(1);
    CHECK(c.request(0, 1, "ping") == "con_lost");
    std::vector<std::string> failed;
    CHECK(wait_until(15s, [&] {
        for (const auto& r : status_rows(loncontrol_status(c, 0).out, header)) {
            if (r[0] == "out" && r[11] != "-") {
                failed = r;
                return true;
            }
        }
        return false;
    }));
    REQUIRE(failed.size() == 12);
    INFO(failed[11]);
    CHECK(std::regex_search(failed[11],
                            std::regex(R"(^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} (link lost|cannot link|link closed): )")));
    auto j2 = loncontrol_status(c, 0, true);
    CHECK(std::regex_search(j2.out, std::regex(R"("last_error":"[^"]+","last_error_time":[0-9]+)")));
}
