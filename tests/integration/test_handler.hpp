#pragma once

// A lond.handler for tests: a small Python server on a unix socket that answers each line
// (several per connection, many connections) with "got:<line>" and logs every line it
// received, so a test observes what ran. A request whose command (after the `<peer-id>:`
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
};

} // namespace it
