// Logs (docs/privileges-and-logs.md): HUP reopens the log files (logrotate renames them,
// then HUPs: the parents and their children write to new files), and
// `log: { target: file|syslog|stderr, level }` picks where lines go and from which level.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

ClusterOptions with_log(const std::string& yaml) {
    ClusterOptions o = hosts(2);
    o.extra_yaml = yaml;
    return o;
}

} // namespace

TEST_CASE("logs: after logrotate renames the files and HUPs, parents and children write new "
          "files",
          "[integration][logs]") {
    Cluster c(hosts(2));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    pid_t child = c.lonc_child(0, 1);
    REQUIRE(child > 0);
    for (const char* d : {"lond", "lonc"}) {
        std::filesystem::rename(c.log_file(0, d), c.log_file(0, d).string() + ".1");
    }
    c.reload(0);
    const std::string parent_lonc = "[lonc " + std::to_string(c.lonc_pid(0)) + "]";
    const std::string parent_lond = "[lond " + std::to_string(c.lond_pid(0)) + "]";
    const std::string child_lonc = "[lonc[" + c.id(1) + "] " + std::to_string(child) + "]";
    CHECK(wait_until(5s, [&] {
        return file_has_line_with(c.log_file(0, "lond"), {parent_lond, "reloaded"}) &&
               file_has_line_with(c.log_file(0, "lonc"), {parent_lonc, "reloaded"}) &&
               file_has_line_with(c.log_file(0, "lonc"), {child_lonc, "log file reopened"});
    }));
    INFO(read_file(c.log_file(0, "lonc")));
    CHECK(c.request(0, 1, "echo:x") == "x");
    // Nothing more goes to the renamed files (logrotate compresses them next).
    CHECK_FALSE(file_has_line_with(c.log_file(0, "lonc").string() + ".1", {"reopened"}));
}

TEST_CASE("logs: target stderr writes no file; parents and children log to stderr",
          "[integration][logs]") {
    Cluster c(with_log("log: { target: stderr }\n"));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    CHECK_FALSE(std::filesystem::exists(c.log_file(0, "lond")));
    CHECK_FALSE(std::filesystem::exists(c.log_file(0, "lonc")));
    CHECK(file_has_line_with(c.output_file(0, "lond"), {"[lond ", "listening"}));
    CHECK(wait_until(5s, [&] {
        return file_has_line_with(c.output_file(0, "lonc"), {"[lonc[" + c.id(1) + "] "});
    }));
    // Once each: --foreground adds no second stderr sink to a stderr target.
    std::string out = read_file(c.output_file(0, "lond"));
    auto first = out.find("listening on");
    REQUIRE(first != std::string::npos);
    CHECK(out.find("listening on", first + 1) == std::string::npos);
}

TEST_CASE("logs: level warn leaves info lines out", "[integration][logs]") {
    Cluster c(with_log("log: { level: warn }\n"));
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    c.stop_lonc(0);
    std::string text = read_file(c.log_file(0, "lonc"));
    CHECK(text.find("[info]") == std::string::npos);
    if (::geteuid() == 0) {
        CHECK(text.find("[warning]") != std::string::npos); // runs as root without user:
    }
    // And debug shows more than info does.
    Cluster d(with_log("log: { level: debug }\n"));
    d.start_all();
    REQUIRE(d.request(0, 1, "ping") == d.id(1));
    d.stop_lonc(0);
    CHECK(read_file(d.log_file(0, "lonc")).find("[debug]") != std::string::npos);
}

TEST_CASE("logs: target syslog sends to /dev/log with ident lond and facility daemon",
          "[integration][logs]") {
    if (::geteuid() != 0 || run({"/usr/bin/unshare", "-m", "true"}).code != 0) {
        WARN("not run: a private /dev/log needs root and mount namespaces");
        return;
    }
    Cluster c(with_log("log: { target: syslog }\n"));
    // Our own syslog: a datagram socket that the daemon sees as /dev/log in a private
    // mount namespace (a tmpfs over /dev holding it and the devices a daemon opens).
    auto dev = c.root() / "dev";
    std::filesystem::create_directories(dev);
    auto log_socket = c.root() / "syslog.sock";
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", log_socket.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{0, 200'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string script =
        "set -e; mount --make-rprivate /; d=" + dev.string() +
        "; for n in null zero urandom random; do touch $d/$n; mount --bind /dev/$n $d/$n; done;"
        " touch $d/log; mount --bind " + log_socket.string() +
        " $d/log; mount --rbind $d /dev; exec \"$0\" \"$@\"";
    c.start_lond(0, {"/usr/bin/unshare", "-m", "--", "/bin/sh", "-c", script});
    const std::string ident = "lond[" + std::to_string(c.lond_pid(0)) + "]: ";
    std::string seen;
    bool found = wait_until(5s, [&] {
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            std::string msg(buf, static_cast<std::size_t>(n));
            seen += msg + "\n";
            // <30>: facility daemon (3) * 8 + severity info (6).
            return msg.rfind("<30>", 0) == 0 && msg.find(ident) != std::string::npos &&
                   msg.find("listening on") != std::string::npos;
        }
        return false;
    });
    ::close(fd);
    INFO(seen);
    CHECK(found);
    CHECK_FALSE(std::filesystem::exists(c.log_file(0, "lond")));
}
