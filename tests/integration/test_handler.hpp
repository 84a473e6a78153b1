#pragma once

// A lond.handler for tests: a small Python server on a unix socket that answers each line
// (several per connection, in order, many connections) with "got:<line>" and logs every line
// as soon as it is read, so a test observes what reached it. A request whose command (after the `<peer-id>:`
// prefix) is `hold` is answered only once the file `release` exists (bounded: 60 s), so it
// stays in flight as long as the test wants.

#include <filesystem>
#include <string>

#include "harness.hpp"

namespace it {

struct TestHandler {
    std::filesystem::path sock;
    std::filesystem::path log;
    std::filesystem::path release;
    Process process;

    /// Starts it under the cluster's folder and waits (bounded) until it listens.
    static TestHandler start(const Cluster& c);
    /// The config line that makes lond use it: `lond: { handler: <sock>, <extra> }`.
    [[nodiscard]] std::string lond_yaml(const std::string& extra = "") const;
    /// Every line received so far, in order, each followed by '\n'.
    [[nodiscard]] std::string received() const;
    /// Lets every held request (and any later one) be answered.
    void release_held() const;
    /// Sends `warm` from host `from` to host `to` (it must be an allowed command there) and
    /// waits (bounded) until that host's lond has seen that this handler keeps its
    /// connections open: from then on it pipelines requests on them. Until then lond sends
    /// one request at a time per handler connection (it may be a one-shot handler).
    void await_pipelining(const Cluster& c, int from, int to) const;
};

} // namespace it
