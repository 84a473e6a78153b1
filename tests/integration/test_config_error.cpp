// A bad config stops lond and lonc at startup with exit 2 and one line on stderr:
// "<file>:<line>: <key>: <problem>".

#include <algorithm>
#include <fstream>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

struct BadConfig {
    const char* what;
    const char* find;    ///< text of the generated config to replace ("" : append)
    const char* replace; ///< replacement (or appended text)
    const char* bad;     ///< the text on the faulty line
    const char* key;     ///< the key the message names (last component)
};

const BadConfig bad_configs[] = {
    {"unknown top-level key", "", "colour: red\n", "colour: red", "colour"},
    {"unknown key in a block mapping", "", "lond:\n  allow_insecure: true\n  colour: red\n",
     "  colour: red", "colour"},
    {"unknown key in a flow mapping", "max_connections: 3", "max_connections: 3, flavour: mint",
     "flavour: mint", "flavour"},
    {"duration that is not one", "handshake_timeout: 2s", "handshake_timeout: soon",
     "handshake_timeout: soon", "handshake_timeout"},
    {"log target that is not one", "", "log: { target: pigeon }\n", "log: { target: pigeon }",
     "target"},
    {"log level that is not one", "", "log:\n  level: loud\n", "  level: loud", "level"},
    {"user that does not exist", "", "user: no-such-user-lonlink\n",
     "user: no-such-user-lonlink", "user"},
};

/// 1-based number of the line that contains `needle`, 0 if none.
int line_of(const std::string& text, const std::string& needle) {
    auto at = text.find(needle);
    if (at == std::string::npos) {
        return 0;
    }
    return 1 +
           static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

} // namespace

TEST_CASE("a config error exits 2 with one line naming the file, the line and the key",
          "[integration]") {
    for (const auto& b : bad_configs) {
        INFO(b.what);
        Cluster c(hosts(2));
        std::string text = read_file(c.config(0));
        if (*b.find == '\0') {
            text += b.replace;
        } else {
            auto at = text.find(b.find);
            REQUIRE(at != std::string::npos);
            text.replace(at, std::string(b.find).size(), b.replace);
        }
        std::ofstream(c.config(0)) << text;
        int line = line_of(text, b.bad);
        REQUIRE(line > 0);
        for (const auto& bin : {lond_bin(), lonc_bin()}) {
            INFO(bin.filename().string() << "\n--- config:\n" << text);
            auto r = run({bin.string(), "--config", c.config(0).string(), "--foreground"}, 10s);
            INFO("--- stdout:\n" << r.out << "--- stderr:\n" << r.err);
            CHECK(r.code == 2);
            std::string err = r.err;
            while (!err.empty() && err.back() == '\n') {
                err.pop_back();
            }
            CHECK(err.find('\n') == std::string::npos); // one line
            // The daemons put their name first, as Unix tools do ("lond: <file>:…").
            std::string program = bin.filename().string() + ": ";
            if (err.rfind(program, 0) == 0) {
                err.erase(0, program.size());
            }
            std::string prefix = c.config(0).string() + ":" + std::to_string(line) + ": ";
            REQUIRE(err.rfind(prefix, 0) == 0);
            // "<key>: <problem>", the key possibly qualified by its section ("lond.colour").
            std::string rest = err.substr(prefix.size());
            auto colon = rest.find(": ");
            REQUIRE(colon != std::string::npos);
            std::string key = rest.substr(0, colon);
            std::string tail = std::string(b.key);
            CHECK((key == tail || (key.size() > tail.size() &&
                                   key.compare(key.size() - tail.size(), tail.size(), tail) == 0 &&
                                   key[key.size() - tail.size() - 1] == '.')));
            CHECK(rest.size() > colon + 2); // a problem is stated
            // Nothing was left behind.
            CHECK_FALSE(std::filesystem::exists(c.run_dir(0) / "lond.pid"));
            CHECK_FALSE(std::filesystem::exists(c.run_dir(0) / "lonc.pid"));
        }
    }
}

TEST_CASE("a config file that does not exist stops the daemon with a message naming it",
          "[integration]") {
    TempDir tmp;
    auto missing = tmp.path() / "nope.yaml";
    for (const auto& bin : {lond_bin(), lonc_bin()}) {
        INFO(bin.filename().string());
        auto r = run({bin.string(), "--config", missing.string(), "--foreground"}, 10s);
        INFO(r.output);
        CHECK((r.code == 2 || r.code == 3)); // a startup error, not a crash
        CHECK(r.err.find(missing.string()) != std::string::npos);
    }
}
