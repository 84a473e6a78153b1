#include "test_handler.hpp"

#include <fstream>

#include <catch2/catch.hpp>

namespace it {

namespace {

constexpr const char* handler_py = R"PY(
import os, queue, socket, sys, threading, time
path, log, release = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
out = open(log, "a", buffering=1)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(256)
def answer(c, q):
    # Replies in order, one request after the other; a hold waits for the release file.
    while True:
        line = q.get()
        if line is None:
            return
        parts = line.split(":", 2)
        if len(parts) > 1 and parts[1] == "hold":
            end = time.monotonic() + 60
            while not os.path.exists(release) and time.monotonic() < end:
                time.sleep(0.02)
        try:
            c.sendall(("got:" + line + "\n").encode())
        except OSError:
            return
def serve(c):
    # Every line is read (and logged) as it arrives, also behind a held one: lond pipelines.
    q = queue.Queue()
    writer = threading.Thread(target=answer, args=(c, q), daemon=True)
    writer.start()
    with c:
        for raw in c.makefile("rb"):
            line = raw.rstrip(b"\n").decode()
            with lock:
                out.write(line + "\n")
            q.put(line)
        q.put(None)
        writer.join()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
)PY";

} // namespace

TestHandler TestHandler::start(const Cluster& c) {
    TestHandler h{c.root() / "handler.sock", c.root() / "handler.log", c.root() / "release", {}};
    std::ofstream(c.root() / "handler.py") << handler_py;
    h.process = Process({"/usr/bin/python3", (c.root() / "handler.py").string(), h.sock.string(),
                         h.log.string(), h.release.string()},
                        c.root() / "handler.out");
    REQUIRE(wait_until(10s, [&] { return std::filesystem::exists(h.sock); }));
    return h;
}

std::string TestHandler::lond_yaml(const std::string& extra) const {
    return "lond: { handler: " + sock.string() + (extra.empty() ? "" : ", " + extra) + " }\n";
}

std::string TestHandler::received() const { return read_file(log); }

void TestHandler::release_held() const { std::ofstream(release) << "go\n"; }

void TestHandler::await_pipelining(const Cluster& c, int from, int to) const {
    REQUIRE(c.request(from, to, "warm") == "got:" + c.id(from) + ":warm");
    REQUIRE(wait_until(5s, [&] {
        return file_has_line_with(c.log_file(to, "lond"), {"keeps its connections open"});
    }));
}

} // namespace it
