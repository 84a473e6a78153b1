// socket_group (README "Configuration"): lonc's unix sockets are mode 0660 and belong to that
// group, so its members may send requests and other local users may not. Checked by
// connecting as an unprivileged user with and without the group.

#include <fstream>
#include <sstream>

#include <grp.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

namespace {

/// Whether a process running as uid/gid 65534 (nobody), with `extra_group` as its only
/// supplementary group (none when -1), can connect to the unix socket `path`.
bool nobody_can_connect(const std::filesystem::path& path, gid_t extra_group) {
    pid_t pid = ::fork();
    if (pid == 0) {
        gid_t groups[1] = {extra_group};
        bool dropped = ::setgroups(extra_group == static_cast<gid_t>(-1) ? 0 : 1, groups) == 0 &&
                       ::setgid(65534) == 0 && ::setuid(65534) == 0;
        if (!dropped) {
            ::_exit(3);
        }
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
        int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::_exit(rc == 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) != 3);
    return WEXITSTATUS(status) == 0;
}

} // namespace

TEST_CASE("socket_group: lonc's sockets are 0660 in that group; members connect, others cannot",
          "[integration][socket_group]") {
    if (::geteuid() != 0) {
        WARN("not run: switching to another user to try the socket needs root");
        return;
    }
    const ::group* gr = ::getgrnam("daemon");
    REQUIRE(gr != nullptr); // Debian always has it
    const gid_t daemon_gid = gr->gr_gid;
    Cluster c(hosts(2));
    c.edit_config(0, "socket_group: null", "socket_group: daemon");
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));

    struct stat st {};
    REQUIRE(::stat(c.socket(0, 1).c_str(), &st) == 0);
    CHECK(st.st_gid == daemon_gid);
    CHECK((st.st_mode & 07777) == 0660);

    // Let others through the (private) folders on the way, so that only the socket decides.
    for (auto p = c.socket(0, 1).parent_path(); p != c.root().parent_path(); p = p.parent_path()) {
        std::filesystem::permissions(p, std::filesystem::perms::others_exec |
                                            std::filesystem::perms::group_exec,
                                     std::filesystem::perm_options::add);
    }
    CHECK_FALSE(nobody_can_connect(c.socket(0, 1), static_cast<gid_t>(-1)));
    CHECK(nobody_can_connect(c.socket(0, 1), daemon_gid));
}

TEST_CASE("socket_group naming no group: a warning, and the sockets keep lonc's own group",
          "[integration][socket_group]") {
    Cluster c(hosts(2));
    c.edit_config(0, "socket_group: null", "socket_group: no-such-group-lonlink");
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    struct stat st {};
    REQUIRE(::stat(c.socket(0, 1).c_str(), &st) == 0);
    CHECK(st.st_gid == ::getegid());
    CHECK((st.st_mode & 07777) == 0660);
    CHECK(wait_until(3s, [&] {
        return file_has_line_with(c.log_file(0, "lonc"), {"no-such-group-lonlink", "does not exist"});
    }));
}

TEST_CASE("socket_group: lond starting as root does not regroup lonc's sockets when socket_dir "
          "is inside run_dir", "[integration][socket_group]") {
    // Both parents give run_dir's tree to `user:` at start; a socket_dir inside it was given
    // to the user's group, then back to socket_group: meanwhile a member of socket_group
    // could not connect. Watched with inotify: no socket's attributes may change.
    if (::geteuid() != 0) {
        WARN("not run: giving folders to another user needs root");
        return;
    }
    REQUIRE(::getgrnam("daemon") != nullptr);
    const gid_t daemon_gid = ::getgrnam("daemon")->gr_gid;
    ClusterOptions o = hosts(2);
    o.extra_yaml = "user: nobody\n";
    o.socket_subdir = "run/sockets";
    Cluster c(o);
    c.edit_config(0, "socket_group: null", "socket_group: daemon");
    for (auto p = c.root(); p != p.root_path() && p != "/tmp"; p = p.parent_path()) {
        std::filesystem::permissions(p, std::filesystem::perms::others_exec,
                                     std::filesystem::perm_options::add);
    }
    c.start_lonc(0);
    REQUIRE(wait_until(10s, [&] { return std::filesystem::exists(c.socket(0, 1)); }));
    struct stat st {};
    REQUIRE(::stat(c.socket(0, 1).c_str(), &st) == 0);
    REQUIRE(st.st_gid == daemon_gid);

    lon::UniqueFd watch(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    REQUIRE(watch.valid());
    REQUIRE(::inotify_add_watch(watch.get(), c.socket(0, 1).parent_path().c_str(), IN_ATTRIB) >= 0);
    c.start_lond(0); // as root, then nobody: prepare_for_user on the same folders
    REQUIRE(c.request(0, 1, "ping").size() > 0); // lond 0 is up (its own peer may be down)
    std::string changed;
    alignas(inotify_event) char buf[4096];
    for (ssize_t n; (n = ::read(watch.get(), buf, sizeof buf)) > 0;) {
        for (char* p = buf; p < buf + n;) {
            auto* e = reinterpret_cast<inotify_event*>(p);
            if (e->len > 0) {
                changed += std::string(e->name) + " ";
            }
            p += sizeof(inotify_event) + e->len;
        }
    }
    INFO("attributes changed: " << changed);
    CHECK(changed.empty());
    REQUIRE(::stat(c.socket(0, 1).c_str(), &st) == 0);
    CHECK(st.st_gid == daemon_gid);
}
