#include "unix_request.hpp"

#include <memory>

namespace lon::link {
namespace {

class UnixRequest final : public std::enable_shared_from_this<UnixRequest> {
public:
    UnixRequest(asio::io_context& io, std::size_t max_reply,
                std::function<void(std::error_code, std::string)> done)
        : socket_(io), timer_(io), max_reply_(max_reply), done_(std::move(done)) {}

    void start(const std::filesystem::path& path, std::string line,
               std::chrono::milliseconds timeout) {
        out_ = std::move(line);
        out_.push_back('\n');
        timer_.expires_after(timeout);
        timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec) {
                self->finish(asio::error::timed_out);
            }
        });
        socket_.async_connect(asio::local::stream_protocol::endpoint(path.native()),
                              [self = shared_from_this()](std::error_code ec) {
                                  if (ec) {
                                      self->finish(ec);
                                      return;
                                  }
                                  self->do_write();
                              });
    }

private:
    void do_write() {
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this()](std::error_code ec, std::size_t) {
                              if (ec) {
                                  self->finish(ec);
                                  return;
                              }
                              self->do_read();
                          });
    }

    void do_read() {
        asio::async_read_until(socket_, asio::dynamic_buffer(in_, max_reply_ + 1), '\n',
                               [self = shared_from_this()](std::error_code ec, std::size_t n) {
                                   if (ec) {
                                       self->finish(ec);
                                       return;
                                   }
                                   self->in_.resize(n - 1);
                                   self->finish({});
                               });
    }

    void finish(std::error_code ec) {
        if (!done_) {
            return;
        }
        auto done = std::move(done_);
        done_ = nullptr;
        std::error_code ignored;
        timer_.cancel();
        socket_.close(ignored);
        done(ec, ec ? std::string() : std::move(in_));
    }

    asio::local::stream_protocol::socket socket_;
    asio::steady_timer timer_;
    std::size_t max_reply_;
    std::function<void(std::error_code, std::string)> done_;
    std::string out_;
    std::string in_;
};

} // namespace

void unix_request(asio::io_context& io, const std::filesystem::path& path, std::string line,
                  std::size_t max_reply, std::chrono::milliseconds timeout,
                  std::function<void(std::error_code, std::string)> done) {
    auto r = std::make_shared<UnixRequest>(io, max_reply, std::move(done));
    r->start(path, std::move(line), timeout);
}

} // namespace lon::link
