// link::HandlerPool against a line server on a unix socket in the same io_context (no
// threads): reply matching, over-long replies, the one-shot model, deadlines.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <unistd.h>

#include "handler_pool.hpp"

using namespace std::chrono_literals;
using lon::link::HandlerPool;

namespace {

/// A unix-socket line server: `answer(line)` gives the reply (nullopt: no answer);
/// `one_shot` closes each connection after its first reply.
class LineServer {
public:
    LineServer(asio::io_context& io, std::filesystem::path path,
               std::function<std::optional<std::string>(const std::string&)> answer,
               bool one_shot = false)
        : io_(io), path_(std::move(path)), acceptor_(io, endpoint(path_)),
          answer_(std::move(answer)), one_shot_(one_shot) {
        do_accept();
    }
    ~LineServer() { ::unlink(path_.c_str()); }
    int accepted = 0;

private:
    static asio::local::stream_protocol::endpoint endpoint(const std::filesystem::path& p) {
        ::unlink(p.c_str());
        return asio::local::stream_protocol::endpoint(p.native());
    }
    struct Conn {
        explicit Conn(asio::io_context& io) : socket(io) {}
        asio::local::stream_protocol::socket socket;
        std::string in;
        std::string out;
    };
    void do_accept() {
        acceptor_.async_accept([this](std::error_code ec, asio::local::stream_protocol::socket s) {
            if (ec) {
                return;
            }
            ++accepted;
            auto c = std::make_shared<Conn>(io_);
            c->socket = std::move(s);
            do_read(c);
            do_accept();
        });
    }
    void do_read(const std::shared_ptr<Conn>& c) {
        asio::async_read_until(c->socket, asio::dynamic_buffer(c->in), '\n',
                               [this, c](std::error_code ec, std::size_t n) {
                                   if (ec) {
                                       return;
                                   }
                                   std::string line = c->in.substr(0, n - 1);
                                   c->in.erase(0, n);
                                   if (auto reply = answer_(line)) {
                                       c->out = *reply + "\n";
                                       asio::write(c->socket, asio::buffer(c->out), ec);
                                   }
                                   if (one_shot_) {
                                       c->socket.close(ec);
                                       return;
                                   }
                                   do_read(c);
                               });
    }
    asio::io_context& io_;
    std::filesystem::path path_;
    asio::local::stream_protocol::acceptor acceptor_;
    std::function<std::optional<std::string>(const std::string&)> answer_;
    bool one_shot_;
};

std::filesystem::path socket_path(const char* name) {
    return std::filesystem::temp_directory_path() /
           ("hpool-" + std::to_string(::getpid()) + "-" + name);
}

struct Outcome {
    std::error_code ec;
    std::string reply;
    bool done = false;
};

/// Runs `io` until every outcome is done or `limit` passes.
void run_until_done(asio::io_context& io, const std::vector<std::shared_ptr<Outcome>>& all,
                    std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        bool pending = false;
        for (const auto& o : all) {
            pending = pending || !o->done;
        }
        if (!pending) {
            return;
        }
        io.run_for(10ms);
    }
}

std::shared_ptr<Outcome> submit(HandlerPool& pool, const std::string& line) {
    auto o = std::make_shared<Outcome>();
    pool.submit(line, [o](std::error_code ec, std::string reply) {
        CHECK_FALSE(o->done); // exactly once
        o->ec = ec;
        o->reply = std::move(reply);
        o->done = true;
    });
    return o;
}

HandlerPool::Settings settings(const std::filesystem::path& path) {
    HandlerPool::Settings s;
    s.path = path;
    s.connections = 2;
    s.max_reply = 10;
    s.timeout = 2s;
    s.probation = 30ms;
    return s;
}

} // namespace

TEST_CASE("HandlerPool: pipelined replies are matched in order; an over-long reply answers "
          "its own request (not_found) and the next line still answers the next one",
          "[handler_pool]") {
    asio::io_context io{1};
    auto path = socket_path("long");
    LineServer server(io, path, [](const std::string& line) -> std::optional<std::string> {
        if (line == "long") {
            return std::string(100, 'x');
        }
        return "re:" + line;
    });
    HandlerPool pool(io, settings(path));
    std::vector<std::shared_ptr<Outcome>> all;
    for (const char* line : {"a", "b", "long", "c", "d", "e", "long", "f"}) {
        all.push_back(submit(pool, line));
    }
    run_until_done(io, all, 5s);
    const char* expect[] = {"re:a", "re:b", nullptr, "re:c", "re:d", "re:e", nullptr, "re:f"};
    for (std::size_t i = 0; i < all.size(); ++i) {
        INFO("request " << i);
        REQUIRE(all[i]->done);
        if (expect[i] == nullptr) {
            CHECK(all[i]->ec == asio::error::not_found);
        } else {
            CHECK_FALSE(all[i]->ec);
            CHECK(all[i]->reply == expect[i]);
        }
    }
    CHECK(pool.model() == HandlerPool::Model::persistent);
    CHECK(server.accepted <= 2);
}

TEST_CASE("HandlerPool: a one-shot server gets one request per connection and no error",
          "[handler_pool]") {
    asio::io_context io{1};
    auto path = socket_path("oneshot");
    LineServer server(
        io, path, [](const std::string& line) { return std::optional<std::string>("re:" + line); },
        true);
    HandlerPool pool(io, settings(path));
    std::vector<std::shared_ptr<Outcome>> all;
    for (int i = 0; i < 20; ++i) {
        all.push_back(submit(pool, "r" + std::to_string(i)));
    }
    run_until_done(io, all, 5s);
    for (std::size_t i = 0; i < all.size(); ++i) {
        INFO("request " << i);
        REQUIRE(all[i]->done);
        CHECK_FALSE(all[i]->ec);
        CHECK(all[i]->reply == "re:r" + std::to_string(i));
    }
    CHECK(pool.model() == HandlerPool::Model::one_shot);
    CHECK(server.accepted == 20);
}

TEST_CASE("HandlerPool: a request not answered by its deadline fails, and so do the ones "
          "behind it on that connection; a missing socket fails at once",
          "[handler_pool]") {
    asio::io_context io{1};
    auto path = socket_path("silent");
    LineServer server(io, path, [](const std::string&) { return std::nullopt; });
    auto s = settings(path);
    s.timeout = 200ms;
    HandlerPool pool(io, s);
    auto start = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Outcome>> all{submit(pool, "x"), submit(pool, "y")};
    run_until_done(io, all, 3s);
    auto took = std::chrono::steady_clock::now() - start;
    for (const auto& o : all) {
        REQUIRE(o->done);
        CHECK(o->ec);
        CHECK(o->ec != asio::error::not_found);
    }
    CHECK(took >= 190ms);
    CHECK(took < 2s);

    HandlerPool nowhere(io, settings(socket_path("absent")));
    std::vector<std::shared_ptr<Outcome>> gone{submit(nowhere, "z"), submit(nowhere, "w")};
    run_until_done(io, gone, 2s);
    for (const auto& o : gone) {
        REQUIRE(o->done);
        CHECK(o->ec);
    }
}

TEST_CASE("HandlerPool: requests submitted while the pool is held are written together on "
          "one connection at release, not before",
          "[handler_pool]") {
    asio::io_context io{1};
    auto path = socket_path("hold");
    ::unlink(path.c_str());
    asio::local::stream_protocol::acceptor acceptor(
        io, asio::local::stream_protocol::endpoint(path.native()));
    std::vector<asio::local::stream_protocol::socket> accepted;
    std::function<void()> accept_next = [&] {
        acceptor.async_accept([&](std::error_code ec, asio::local::stream_protocol::socket s) {
            if (!ec) {
                s.non_blocking(true);
                accepted.push_back(std::move(s));
                accept_next();
            }
        });
    };
    accept_next();
    /// Everything the handler side can read now from connection `k`, without waiting.
    auto available = [&](std::size_t k) {
        std::string got;
        char buf[4096];
        for (;;) {
            std::error_code ec;
            std::size_t n = accepted[k].read_some(asio::buffer(buf), ec);
            if (ec || n == 0) {
                return got;
            }
            got.append(buf, n);
        }
    };
    auto s = settings(path);
    s.connections = 4;
    HandlerPool pool(io, s);

    // The first request on the first connection; answered and left open past the probation,
    // the pool takes the handler for persistent.
    auto first = submit(pool, "w");
    for (int i = 0; i < 100 && accepted.empty(); ++i) {
        io.run_for(5ms);
    }
    REQUIRE(accepted.size() == 1);
    for (int i = 0; i < 100 && available(0).empty(); ++i) {
        io.run_for(5ms); // "w\n" was read by the check that ended the loop, or comes now
    }
    asio::write(accepted[0], asio::buffer(std::string("re:w\n")));
    run_until_done(io, {first}, 2s);
    REQUIRE(first->done);
    for (int i = 0; i < 100 && pool.model() != HandlerPool::Model::persistent; ++i) {
        io.run_for(5ms);
    }
    REQUIRE(pool.model() == HandlerPool::Model::persistent);

    pool.hold();
    std::vector<std::shared_ptr<Outcome>> burst;
    for (const char* line : {"a", "b", "c"}) {
        burst.push_back(submit(pool, line));
    }
    io.run_for(30ms); // a new connection for the burst (the first is idle: least loaded)
    std::string before;
    for (std::size_t k = 0; k < accepted.size(); ++k) {
        before += available(k);
    }
    CHECK(before.empty()); // held: nothing written yet
    pool.release();
    io.run_for(30ms);
    std::size_t with_bytes = 0;
    std::string after;
    std::size_t on = 0;
    for (std::size_t k = 0; k < accepted.size(); ++k) {
        std::string got = available(k);
        if (!got.empty()) {
            ++with_bytes;
            on = k;
            after += got;
        }
    }
    CHECK(with_bytes == 1); // one connection took the whole burst
    CHECK(after == "a\nb\nc\n");
    asio::write(accepted[on], asio::buffer(std::string("re:a\nre:b\nre:c\n")));
    run_until_done(io, burst, 2s);
    for (std::size_t i = 0; i < burst.size(); ++i) {
        REQUIRE(burst[i]->done);
        CHECK_FALSE(burst[i]->ec);
        CHECK(burst[i]->reply == std::string("re:") + "abc"[i]);
    }
    ::unlink(path.c_str());
}
