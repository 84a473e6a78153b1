#include <catch2/catch.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
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
