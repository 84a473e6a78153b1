#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace lon::lonc {

/// One local request on its way to the peer. `finish` answers it exactly once; later calls
/// (a reply arriving after the timeout answered con_lost) are ignored, so a request can never
/// get two replies or another request's reply.
struct PendingRequest {
    using Done = std::function<void(std::string_view reply)>;

    PendingRequest(std::string text, std::chrono::steady_clock::time_point due, Done on_done)
        : line(std::move(text)), deadline(due), done(std::move(on_done)) {}

    std::string line; ///< released once written to a link (a request is never re-sent)
    /// The client's deadline (submission + lonc.request_timeout): con_lost by then.
    std::chrono::steady_clock::time_point deadline;
    /// The link's deadline (written + lonc.request_timeout): a peer that has not answered
    /// by then is taken for gone and the link closed. Counted from the write, so time spent
    /// queued for a connection never makes a healthy peer look dead.
    std::chrono::steady_clock::time_point link_deadline;
    Done done;
    /// Told of the answer before `done` (the child's counters); a plain function and its
    /// argument rather than a second std::function wrapped around `done`, which cost an
    /// allocation per request.
    void (*on_answer)(void* context, std::string_view reply) = nullptr;
    void* on_answer_context = nullptr;
    bool from_peer = false; ///< the reply came from the peer (not con_lost made by lonc)

    [[nodiscard]] bool finished() const { return !done; }
    void finish(std::string_view reply) {
        if (done) {
            Done d = std::move(done);
            done = nullptr;
            if (on_answer != nullptr) {
                on_answer(on_answer_context, reply);
            }
            d(reply);
        }
    }
};

using RequestPtr = std::shared_ptr<PendingRequest>;

} // namespace lon::lonc
