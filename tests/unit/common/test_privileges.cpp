#include <catch2/catch.hpp>

#include <cstdio>

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privileges.hpp"
#include "temp_dir.hpp"

namespace {

lon::Config config_in(const TempDir& dir) {
    lon::Config c;
    c.file = dir.path() / "lonlink.yaml";
    const auto& d = dir.path();
    c.paths = {d / "certs", d / "sockets", d / "run", d / "log", d / "spool", d / "state"};
    c.socket_group = "daemon";
    return c;
}

struct stat stat_of(const std::filesystem::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}

/// Leaves this process only the capabilities the units keep for root
/// (CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_CHOWN CAP_FOWNER CAP_DAC_READ_SEARCH):
/// root may then write only into folders it owns, and a chmod keeps the set-group-id bit
/// only where root is in the file's group (no CAP_FSETID).
bool keep_only_unit_capabilities() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    const unsigned keep = (1U << CAP_SETUID) | (1U << CAP_SETGID) | (1U << CAP_CHOWN) |
                          (1U << CAP_FOWNER) | (1U << CAP_DAC_READ_SEARCH);
    data[0] = {keep, keep, 0};
    return ::syscall(SYS_capset, &header, data) == 0;
}

} // namespace

TEST_CASE("plan_privileges: root with and without user:, and the user itself",
          "[common][privileges]") {
    TempDir dir;
    lon::Config c = config_in(dir);
    lon::UserIds user;
    if (::geteuid() != 0) {
        CHECK(lon::plan_privileges(c, "lond", user) == lon::PrivilegeStep::none);
        c.user = "root";
        CHECK_THROWS_WITH(lon::plan_privileges(c, "lond", user),
                          Catch::Contains("cannot switch to user: root"));
        return;
    }
    CHECK(lon::plan_privileges(c, "lond", user) == lon::PrivilegeStep::root_without_user);
    c.user = "nobody";
    CHECK(lon::plan_privileges(c, "lond", user) == lon::PrivilegeStep::drop);
    CHECK(user.name == "nobody");
    CHECK(user.uid == ::getpwnam("nobody")->pw_uid);
    c.user = "root";
    CHECK(lon::plan_privileges(c, "lond", user) == lon::PrivilegeStep::none);
}

TEST_CASE("prepare_for_user: folders and what they hold become the user's, links are not "
          "followed, socket_dir gets socket_group and set-group-id, the key its owner only",
          "[common][privileges]") {
    if (::geteuid() != 0) {
        WARN("not run: chown needs root");
        return;
    }
    TempDir dir;
    lon::Config c = config_in(dir);
    const ::passwd* pw = ::getpwnam("nobody");
    const ::group* daemon = ::getgrnam("daemon");
    REQUIRE(pw != nullptr);
    REQUIRE(daemon != nullptr);
    lon::UserIds user{"nobody", pw->pw_uid, pw->pw_gid};
    // Left by a run as root: a spooled request, and a link a user could have planted.
    auto spooled = dir.write("spool/peer/0001.req", "x\n");
    auto outside = dir.write("outside/secret", "root's\n");
    std::filesystem::create_directories(dir.path() / "state");
    std::filesystem::create_symlink(outside, dir.path() / "state" / "link");
    auto key = dir.write("certs/lonhostkey.pem", "key\n");
    std::filesystem::permissions(key, std::filesystem::perms::owner_read |
                                          std::filesystem::perms::owner_write);
    lon::prepare_for_user(c, user);
    for (const char* d : {"run", "log", "spool", "state", "spool/peer"}) {
        INFO(d);
        CHECK(stat_of(dir.path() / d).st_uid == user.uid);
        CHECK(stat_of(dir.path() / d).st_gid == user.gid);
    }
    CHECK(stat_of(spooled).st_uid == user.uid);
    CHECK(stat_of(dir.path() / "state" / "link").st_uid == user.uid); // the link itself (lchown)
    CHECK(stat_of(outside).st_uid == 0); // but never what it names
    auto sockets = stat_of(dir.path() / "sockets");
    CHECK(sockets.st_uid == user.uid);
    CHECK(sockets.st_gid == daemon->gr_gid);
    CHECK((sockets.st_mode & S_ISGID) != 0);
    CHECK(stat_of(key).st_uid == user.uid);
    CHECK((stat_of(key).st_mode & 07777) == 0600);
    CHECK(stat_of(dir.path() / "certs").st_uid == 0); // cert_dir itself stays root's
}

TEST_CASE("prepare_for_user: the example layout (socket_dir inside run_dir) with root's "
          "capabilities as the units leave them (no CAP_DAC_OVERRIDE, no CAP_FSETID)",
          "[common][privileges]") {
    if (::geteuid() != 0) {
        WARN("not run: chown needs root");
        return;
    }
    TempDir dir;
    lon::Config c = config_in(dir);
    c.paths.socket_dir = dir.path() / "run" / "sockets"; // /run/lonlink/sockets, /run/lonlink
    const ::passwd* pw = ::getpwnam("nobody");
    REQUIRE(pw != nullptr);
    lon::UserIds user{"nobody", pw->pw_uid, pw->pw_gid};
    // In a child: the capability stays dropped there only.
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (!keep_only_unit_capabilities()) {
            std::fputs("capset failed\n", stderr);
            ::_exit(2);
        }
        try {
            lon::prepare_for_user(c, user);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "prepare_for_user: %s\n", e.what());
            ::_exit(1);
        }
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(std::filesystem::is_directory(c.paths.socket_dir));
    CHECK(stat_of(dir.path() / "run").st_uid == user.uid);
    auto sockets = stat_of(c.paths.socket_dir);
    CHECK(sockets.st_uid == user.uid);
    CHECK(sockets.st_gid == ::getgrnam("daemon")->gr_gid);
    CHECK((sockets.st_mode & S_ISGID) != 0);
}

TEST_CASE("prepare_for_user: a hard link in the user's folders is refused, never given away",
          "[common][privileges]") {
    // The folders are the user's from an earlier start: where hard links to others' files
    // may be made (fs.protected_hardlinks=0), the user could plant one to a file of root's
    // (/etc/shadow) for the next start as root to hand over.
    if (::geteuid() != 0) {
        WARN("not run: chown needs root");
        return;
    }
    TempDir dir;
    lon::Config c = config_in(dir);
    const ::passwd* pw = ::getpwnam("nobody");
    REQUIRE(pw != nullptr);
    lon::UserIds user{"nobody", pw->pw_uid, pw->pw_gid};
    auto secret = dir.write("outside/shadow", "root's\n");
    std::filesystem::create_directories(dir.path() / "spool" / "peer");
    std::filesystem::create_hard_link(secret, dir.path() / "spool" / "peer" / "0001.req");
    CHECK_THROWS_WITH(lon::prepare_for_user(c, user),
                      Catch::Contains("spool/peer/0001.req") && Catch::Contains("hard link"));
    CHECK(stat_of(secret).st_uid == 0);
}
