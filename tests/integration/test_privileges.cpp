// user: (docs/privileges-and-logs.md): started as root with `user:` set, lond and lonc make
// their folders that user's, read what only root may read, then run every process (parents
// and the children they exec) as that user and its groups before serving; without `user:`
// they run as root and say so. These tests need root (they switch users); they use the
// system's `nobody` (uid 65534), which every Debian/Ubuntu has.

#include <algorithm>
#include <fstream>
#include <sstream>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "loncontrol_run.hpp"

using namespace it;

namespace {

constexpr uid_t nobody_uid = 65534;

bool need_root() {
    if (::geteuid() != 0) {
        WARN("not run: dropping to another user needs the tests to run as root");
        return false;
    }
    REQUIRE(::getpwnam("nobody") != nullptr);
    REQUIRE(::getpwnam("nobody")->pw_uid == nobody_uid);
    return true;
}

/// The numbers of a line of /proc/<pid>/status ("Uid", "Gid", "Groups"), in order.
std::vector<long> status_ids(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            std::istringstream s(line.substr(field.size() + 1));
            std::vector<long> out;
            for (long v = 0; s >> v;) {
                out.push_back(v);
            }
            return out;
        }
    }
    return {};
}

/// The text of a line of /proc/<pid>/status after its tab ("" when absent).
std::string status_text(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":\t", 0) == 0) {
            return line.substr(field.size() + 2);
        }
    }
    return {};
}

/// nobody's groups as initgroups sets them (its primary group and supplementary ones).
std::vector<long> nobody_groups() {
    const ::passwd* pw = ::getpwnam("nobody");
    std::vector<gid_t> g(64);
    int n = static_cast<int>(g.size());
    REQUIRE(::getgrouplist("nobody", pw->pw_gid, g.data(), &n) >= 0);
    std::vector<long> out(g.begin(), g.begin() + n);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

/// Real, effective, saved and filesystem uid and gid all nobody's, its groups and no others.
void check_runs_as_nobody(pid_t pid, const std::string& what) {
    INFO(what << " pid " << pid);
    REQUIRE(pid > 0);
    const ::passwd* pw = ::getpwnam("nobody");
    CHECK(status_ids(pid, "Uid") == std::vector<long>(4, static_cast<long>(pw->pw_uid)));
    CHECK(status_ids(pid, "Gid") == std::vector<long>(4, static_cast<long>(pw->pw_gid)));
    auto groups = status_ids(pid, "Groups");
    std::sort(groups.begin(), groups.end());
    CHECK(groups == nobody_groups());
}

/// Lets others search the (private, 0700) temporary folders on the way to `dir`, as the
/// folders of an installed system let them.
void open_path(const std::filesystem::path& dir) {
    for (auto p = dir; p != p.root_path() && p != "/tmp"; p = p.parent_path()) {
        std::filesystem::permissions(p, std::filesystem::perms::others_exec,
                                     std::filesystem::perm_options::add);
    }
}

/// Every file and folder under `dir` (and `dir` itself) belongs to `uid`; lists the others.
std::string not_owned_by(const std::filesystem::path& dir, uid_t uid) {
    std::string bad;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || st.st_uid != uid) {
        bad += dir.string() + " ";
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        if (::lstat(e.path().c_str(), &st) != 0 || st.st_uid != uid) {
            bad += e.path().string() + "(uid " + std::to_string(st.st_uid) + ") ";
        }
    }
    return bad;
}

ClusterOptions as_nobody(int n) {
    ClusterOptions o = hosts(n);
    o.extra_yaml = "user: nobody\n";
    return o;
}

} // namespace

TEST_CASE("user: every lond and lonc process runs as that user; folders, sockets and key are "
          "its; ssl, durable requests and reloads work",
          "[integration][privileges]") {
    if (!need_root()) {
        return;
    }
    const ::group* daemon_group = ::getgrnam("daemon");
    REQUIRE(daemon_group != nullptr);
    Cluster c(as_nobody(2));
    open_path(c.root());
    for (int i : {0, 1}) {
        open_path(c.dir(i));
        // nobody is not in group daemon: the sockets get it all the same.
        c.edit_config(i, "socket_group: null", "socket_group: daemon");
        c.issue_certificate(i); // root's key, 0600, before the first start
    }
    c.start_all();
    REQUIRE(c.request(0, 1, "ping") == c.id(1));
    INFO("lonc log of " << c.id(0) << ":\n" << read_file(c.log_file(0, "lonc")) << "lond log of "
                        << c.id(1) << ":\n" << read_file(c.log_file(1, "lond")));
    CHECK(await_title_if([&] { return c.lonc_child(0, 1); },
                         [](const std::string& t) { return t.find("(ssl)") != std::string::npos; },
                         10s)
              .find("(ssl)") != std::string::npos);
    // A durable request: spooled, delivered, recorded at the peer, all as nobody.
    CHECK(c.request(0, 1, "lonc:critical:echo:kept") == "kept");

    for (int i : {0, 1}) {
        check_runs_as_nobody(c.lond_pid(i), "lond parent " + c.id(i));
        check_runs_as_nobody(c.lonc_pid(i), "lonc parent " + c.id(i));
    }
    check_runs_as_nobody(c.lonc_child(0, 1), "lonc child");
    REQUIRE(wait_until(5s, [&] { return c.lond_child(1, 0) > 0; }));
    check_runs_as_nobody(c.lond_child(1, 0), "lond child");

    struct stat st {};
    REQUIRE(::stat(c.socket(0, 1).c_str(), &st) == 0);
    CHECK(st.st_uid == nobody_uid);
    CHECK(st.st_gid == daemon_group->gr_gid);
    CHECK((st.st_mode & 07777) == 0660);
    for (int i : {0, 1}) {
        for (const char* d : {"run", "log", "spool", "state", "sockets"}) {
            INFO(c.id(i) << " " << d);
            CHECK(not_owned_by(c.dir(i) / d, nobody_uid).empty());
        }
        auto key = c.dir(i) / "certs" / "lonhostkey.pem";
        REQUIRE(::stat(key.c_str(), &st) == 0);
        CHECK(st.st_uid == nobody_uid);
        CHECK((st.st_mode & 077) == 0);
    }
    CHECK(files_in(c.dir(0) / "state") > 0);  // the pin of host 1
    CHECK(files_in(c.dir(1) / "state") > 0);  // the durable request's record

    // A renewal after the drop: the response script installs a new certificate and reloads;
    // both parents read cert_dir again as nobody and take it.
    auto reload_file = c.run_dir(0) / "lond.reload";
    c.issue_certificate(0);
    CHECK(wait_until(10s, [&] {
        return file_has_line_with(reload_file, {"reloaded"}) &&
               file_has_line_with(c.run_dir(0) / "lonc.reload", {"reloaded"});
    }));
    CHECK_FALSE(file_has_line_with(reload_file, {"refused"}));
    CHECK(c.request(0, 1, "echo:after-reload") == "after-reload");
    CHECK(c.request(1, 0, "echo:other-way") == "other-way");
}

TEST_CASE("user: a restart works with only the capabilities the systemd units leave root",
          "[integration][privileges]") {
    if (!need_root()) {
        return;
    }
    // CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_CHOWN CAP_FOWNER CAP_DAC_READ_SEARCH:
    // no CAP_DAC_OVERRIDE, so root cannot write into the folders it gave nobody.
    const std::vector<std::string> units_caps = {
        "/usr/bin/setpriv",
        "--bounding-set=-all,+setuid,+setgid,+chown,+fowner,+dac_read_search", "--"};
    Cluster c(as_nobody(2));
    open_path(c.root());
    for (int i : {0, 1}) {
        open_path(c.dir(i));
    }
    c.issue_certificate(0);
    for (int round = 0; round < 2; ++round) {
        INFO("start " << round + 1);
        for (int i : {0, 1}) {
            c.start_lond(i, units_caps);
            c.start_lonc(i, units_caps);
        }
        CHECK(c.request(0, 1, "lonc:critical:echo:r" + std::to_string(round)) ==
              "r" + std::to_string(round));
        check_runs_as_nobody(c.lond_pid(0), "lond parent");
        check_runs_as_nobody(c.lonc_child(0, 1), "lonc child");
        // No capability left to regain root with.
        CHECK(status_text(c.lond_pid(0), "CapPrm") == "0000000000000000");
        CHECK(status_text(c.lonc_pid(0), "CapEff") == "0000000000000000");
        for (int i : {0, 1}) {
            c.stop_lonc(i);
            c.stop_lond(i);
        }
    }
}

TEST_CASE("user: already running as that user is fine; as another user it is a clear error",
          "[integration][privileges]") {
    if (!need_root()) {
        return;
    }
    Cluster c(as_nobody(2));
    open_path(c.root());
    for (int i : {0, 1}) {
        open_path(c.dir(i));
        for (const char* d : {"run", "log", "spool", "state", "sockets"}) {
            std::filesystem::create_directories(c.dir(i) / d);
            REQUIRE(::chown((c.dir(i) / d).c_str(), nobody_uid, nobody_uid) == 0);
        }
    }
    // As systemd's User=nobody would start it: nothing to drop.
    const std::vector<std::string> as_nobody_prefix = {
        "/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--init-groups", "--"};
    for (int i : {0, 1}) {
        c.start_lond(i, as_nobody_prefix);
        c.start_lonc(i, as_nobody_prefix);
    }
    CHECK(c.request(0, 1, "ping") == c.id(1));
    check_runs_as_nobody(c.lonc_child(0, 1), "lonc child");

    // Another unprivileged user cannot become nobody: say so and exit.
    c.edit_config(0, "user: nobody", "user: daemon");
    auto r = run({"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--init-groups",
                  "--", lond_bin().string(), "--config", c.config(0).string(), "--foreground"});
    INFO(r.output);
    CHECK(r.code == 3);
    CHECK(r.err.find("user: daemon") != std::string::npos);
    CHECK(r.err.find("nobody") != std::string::npos);
    CHECK(r.err.find("lond: lond:") == std::string::npos);
}

TEST_CASE("no user: a daemon started as root warns in its log, its status and loncontrol check",
          "[integration][privileges]") {
    if (!need_root()) {
        return;
    }
    Cluster c(hosts(2));
    c.start_all();
    for (const char* d : {"lond", "lonc"}) {
        INFO(d);
        CHECK(file_has_line_with(c.log_file(0, d), {"[warning]", "runs as root", "user:"}));
        auto status = parse_json_object(read_file(c.run_dir(0) / (std::string(d) + ".json")));
        REQUIRE(status);
        CHECK((*status)["user"] == "\"root\"");
        CHECK((*status)["warning"].find("runs as root") != std::string::npos);
    }
    auto check = loncontrol(c.config(0), {"check"});
    INFO(check.output);
    CHECK(check.out.find("run as root") != std::string::npos);
    CHECK(check.out.find("user:") != std::string::npos);
    auto status = loncontrol(c.config(0), {"status"});
    INFO(status.output);
    CHECK(status.out.find("runs as root") != std::string::npos);
}
