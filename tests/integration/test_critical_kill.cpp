// Durable requests under SIGKILL (issue 8, sections 1 and 5): 500 `lonc:critical:` requests
// spooled while the peer is down, then the lonc child and the peer's lond child killed with
// SIGKILL while the spool is being delivered. A lond.handler outside lond (a small Python
// unix-socket server) appends every request it runs to a file, so executions are counted
// where lond cannot hide them: no request may run twice, the spool must drain with no local
// client knocking (the lonc parent restarts a child for a non-empty spool), and a client that
// got the peer's reply must have had its request run exactly once.

#include <csignal>
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

/// The test handler: runs (records) each request, answers "done:<request>".
constexpr const char* handler_py = R"PY(
import socket, sys, threading
path, log = sys.argv[1], sys.argv[2]
lock = threading.Lock()
out = open(log, "a", buffering=1)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1024)
def serve(c):
    with c:
        buf = b""
        while b"\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        req = buf.split(b"\n", 1)[0].decode().split(":", 1)[1]
        with lock:
            out.write(req + "\n")
            out.flush()
        try:
            c.sendall(("done:" + req + "\n").encode())
        except OSError:
            pass
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
)PY";

/// How many times the handler ran each request so far.
std::map<std::string, int> executions(const std::filesystem::path& log) {
    std::map<std::string, int> n;
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
        ++n[line];
    }
    return n;
}

std::size_t lines_in(const std::filesystem::path& log) {
    std::size_t total = 0;
    for (const auto& [req, k] : executions(log)) {
        total += static_cast<std::size_t>(k);
    }
    return total;
}

std::string twice(const std::map<std::string, int>& runs) {
    std::ostringstream s;
    int shown = 0;
    for (const auto& [req, k] : runs) {
        if (k > 1 && shown++ < 10) {
            s << req << " x" << k << "; ";
        }
    }
    return s.str();
}

std::size_t count_twice(const std::map<std::string, int>& runs) {
    std::size_t n = 0;
    for (const auto& [req, k] : runs) {
        n += k > 1 ? 1 : 0;
    }
    return n;
}

} // namespace

TEST_CASE("durable requests: SIGKILL of lonc and of the peer's lond child during delivery; "
          "none runs twice, the spool drains by itself",
          "[integration][critical][critical_kill]") {
    ClusterOptions o = hosts(2);
    o.lonc.retries = 3;
    o.lonc.backoff_initial = "100ms";
    o.lonc.backoff_max = "1s";
    o.lonc.request_timeout = "5s";
    o.lonc.idle_timeout = "60s";
    Cluster c(o);
    const auto sock = c.root() / "handler.sock";
    const auto log = c.root() / "handler.log";
    std::ofstream(c.root() / "handler.py") << handler_py;
    Process handler({"/usr/bin/python3", (c.root() / "handler.py").string(), sock.string(),
                     log.string()},
                    c.root() / "handler.out");
    REQUIRE(wait_until(10s, [&] { return std::filesystem::exists(sock); }));
    std::ofstream(c.config(1), std::ios::app)
        << "lond: { handler: " << sock.string() << ", insecure_commands: [ping, job, live] }\n";
    const auto spool = c.dir(0) / "spool" / c.id(1);

    // 500 durable requests while the peer is down: each is spooled (con_delayed).
    c.start_lonc(0);
    REQUIRE(wait_until(5s, [&] { return std::filesystem::exists(c.socket(0, 1)); }));
    {
        UnixClient client(c.socket(0, 1));
        REQUIRE(client.connected());
        std::string batch;
        for (int i = 0; i < 500; ++i) {
            batch += "lonc:critical:job:" + std::to_string(i) + "\n";
        }
        client.send(batch);
        int delayed = 0;
        for (int i = 0; i < 500; ++i) {
            delayed += client.read_line(60s) == std::optional<std::string>("con_delayed") ? 1 : 0;
        }
        REQUIRE(delayed == 500);
    }
    REQUIRE(files_in(spool) == 500);

    // The peer comes back; delivery starts by itself. Kill its lond child, then our lonc
    // child, while requests are running.
    c.start_lond(1);
    REQUIRE(wait_until(60s, [&] { return lines_in(log) >= 100; }));
    pid_t lond_child = c.lond_child(1, 0);
    REQUIRE(lond_child > 0);
    REQUIRE(::kill(lond_child, SIGKILL) == 0);
    REQUIRE(wait_until(60s, [&] { return lines_in(log) >= 250; }));
    pid_t lonc_child = c.lonc_child(0, 1);
    REQUIRE(lonc_child > 0);
    REQUIRE(::kill(lonc_child, SIGKILL) == 0);

    // No local client connects from here on: the lonc parent must restart the child itself.
    bool drained = wait_until(90s, [&] { return files_in(spool) == 0; });
    auto runs = executions(log);
    std::size_t never = 0;
    for (int i = 0; i < 500; ++i) {
        never += runs.count("job:" + std::to_string(i)) == 0 ? 1 : 0;
    }
    INFO("spooled left " << files_in(spool) << ", executed " << runs.size() << " ids, "
                         << count_twice(runs) << " twice (" << twice(runs) << "), " << never
                         << " never");
    CHECK(drained);
    CHECK(count_twice(runs) == 0);
    // Only requests whose run had started when lond died may stay unrun (answered
    // error:indeterminate): at most what was in flight then.
    CHECK(never <= 64);

    // Clients waiting for their replies while the peer's lond child is killed: whoever got
    // the peer's reply had the request run exactly once; nothing ran twice.
    REQUIRE(c.request(0, 1, "ping", 20s) == c.id(1));
    UnixClient live(c.socket(0, 1));
    REQUIRE(live.connected());
    std::string batch;
    for (int i = 0; i < 200; ++i) {
        batch += "lonc:critical:live:" + std::to_string(i) + "\n";
    }
    live.send(batch);
    // The first reply is read before the kill, so that the "answered" side below is never
    // empty (how many more replies leave lond before the kill depends on how it batches).
    std::map<std::string, std::string> replies;
    replies["live:0"] = live.read_line(30s).value_or("<timeout>");
    REQUIRE(wait_until(30s, [&] { return lines_in(log) >= runs.size() + 40; }));
    lond_child = c.lond_child(1, 0);
    REQUIRE(lond_child > 0);
    REQUIRE(::kill(lond_child, SIGKILL) == 0);
    for (int i = 1; i < 200; ++i) {
        replies["live:" + std::to_string(i)] = live.read_line(60s).value_or("<timeout>");
    }
    CHECK(wait_until(60s, [&] { return files_in(spool) == 0; }));
    runs = executions(log);
    int answered = 0;
    for (const auto& [req, reply] : replies) {
        INFO(req << " -> " << reply << ", ran " << runs[req] << " time(s)");
        if (reply == "done:" + req) {
            ++answered;
            CHECK(runs[req] == 1);
        } else {
            CHECK((reply == "con_delayed" || reply == "error:indeterminate"));
            CHECK(runs[req] <= 1);
        }
    }
    CHECK(answered > 0);
    INFO("twice: " << twice(runs));
    CHECK(count_twice(runs) == 0);
}
