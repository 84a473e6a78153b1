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
