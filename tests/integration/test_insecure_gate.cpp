// Which commands lond serves over which link (README "Requests", PROTOCOL.md): over an
// insecure link only lond.insecure_commands, the rest answered refused:requires_ssl without
// running; over ssl everything. And lond.handler: lond sends `<peer-id>:<request>` and relays
// the reply. A Python handler records every line it receives, so "never ran" is observed.

#include <fstream>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

/// Answers each line (several per connection) with "got:<line>" and logs it.
constexpr const char* handler_py = R"PY(
import socket, sys, threading
path, log = sys.argv[1], sys.argv[2]
lock = threading.Lock()
out = open(log, "a", buffering=1)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(64)
def serve(c):
    with c:
        f = c.makefile("rb")
        for raw in f:
            line = raw.rstrip(b"\n").decode()
            with lock:
                out.write(line + "\n")
            c.sendall(("got:" + line + "\n").encode())
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
)PY";

struct Handler {
    std::filesystem::path sock, log;
    Process process;
};

Handler start_handler(const Cluster& c) {
    Handler h{c.root() / "handler.sock", c.root() / "handler.log", {}};
    std::ofstream(c.root() / "handler.py") << handler_py;
    h.process = Process({"/usr/bin/python3", (c.root() / "handler.py").string(), h.sock.string(),
                         h.log.string()},
                        c.root() / "handler.out");
    REQUIRE(wait_until(10s, [&] { return std::filesystem::exists(h.sock); }));
    return h;
}

} // namespace

TEST_CASE("insecure link: only lond.insecure_commands are served, the rest are refused "
          "requires_ssl and never reach the handler; the handler gets <peer-id>:<request>",
          "[integration][insecure_gate][handler]") {
    Cluster c(hosts(2));
    Handler h = start_handler(c);
    std::ofstream(c.config(1), std::ios::app)
        << "lond: { handler: " << h.sock.string() << ", insecure_commands: [ping, job] }\n";
    c.start_all();

    CHECK(c.request(0, 1, "ping") == c.id(1));
    CHECK(c.request(0, 1, "job:1") == "got:" + c.id(0) + ":job:1");
    CHECK(c.request(0, 1, "echo:x") == "refused:requires_ssl");  // a built-in outside the list
    CHECK(c.request(0, 1, "secret:2") == "refused:requires_ssl"); // a handler command outside it
    CHECK(c.request(0, 1, "job:3") == "got:" + c.id(0) + ":job:3");
    CHECK(read_file(h.log) == c.id(0) + ":job:1\n" + c.id(0) + ":job:3\n");
}

TEST_CASE("ssl link: every command is served, whatever lond.insecure_commands says",
          "[integration][insecure_gate][handler][tls]") {
    Cluster c(hosts(2));
    Handler h = start_handler(c);
    for (int i = 0; i < 2; ++i) {
        c.issue_certificate(i);
    }
    std::ofstream(c.config(1), std::ios::app)
        << "lond: { handler: " << h.sock.string() << ", insecure_commands: [ping] }\n";
    c.start_all();

    CHECK(c.request(0, 1, "echo:x") == "x");
    CHECK(c.request(0, 1, "secret:2") == "got:" + c.id(0) + ":secret:2");
    // ...and it really was the ssl link that served them.
    const std::string ssl_title = title::lonc_linked(c.id(1), 1, 3, "ssl");
    CHECK(await_title(c.lonc_child(0, 1), ssl_title) == ssl_title);
    CHECK(read_file(h.log) == c.id(0) + ":secret:2\n");
}
