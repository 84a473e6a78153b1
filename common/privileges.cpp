#include "privileges.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unique_fd.hpp"

namespace lon {
namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

/// Folders nest only a few levels (spool_dir/<peer>/<file>); deeper is no tree of ours.
constexpr int max_depth = 8;

/// A folder chown_tree leaves alone (device and inode), or none.
struct Skip {
    dev_t dev = 0;
    ino_t ino = 0;
    bool any = false;
};

/// Gives `dir` (open, O_NOFOLLOW) and what it holds to uid/gid, descending through
/// descriptors (openat O_NOFOLLOW) so that no symbolic link is ever followed. A folder that
/// is `skip` (socket_dir inside run_dir: its sockets have socket_group, given by a pass of
/// its own) is not entered, so its sockets never pass through the user's group meanwhile.
void chown_tree(int dir, const std::string& path, uid_t uid, gid_t gid, int depth,
                const Skip& skip = {}) {
    struct stat st {};
    if (::fstat(dir, &st) != 0) {
        fail("stat " + path);
    }
    if (skip.any && st.st_dev == skip.dev && st.st_ino == skip.ino) {
        return;
    }
    if ((st.st_uid != uid || st.st_gid != gid) && ::fchown(dir, uid, gid) != 0) {
        fail("chown " + path);
    }
    if (depth >= max_depth) {
        return;
    }
    int copy = ::dup(dir);
    if (copy < 0) {
        fail("dup");
    }
    DIR* d = ::fdopendir(copy);
    if (d == nullptr) {
        ::close(copy);
        fail("opendir " + path);
    }
    std::vector<std::string> subdirs;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") {
            continue;
        }
        struct stat est {};
        if (::fstatat(dir, name.c_str(), &est, AT_SYMLINK_NOFOLLOW) != 0) {
            continue; // gone meanwhile
        }
        if (S_ISDIR(est.st_mode)) {
            subdirs.push_back(name);
            continue;
        }
        // Checked and changed through one descriptor of the entry itself (O_PATH, the link
        // itself for a symbolic link): the user, who may write in these folders, cannot
        // swap the name between the check and the chown.
        UniqueFd entry(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!entry || ::fstat(entry.get(), &est) != 0) {
            continue; // gone meanwhile
        }
        if (!S_ISLNK(est.st_mode) && !S_ISDIR(est.st_mode) && est.st_nlink > 1) {
            // A hard link here may name any file on this file system (where
            // fs.protected_hardlinks is off): never give it away.
            ::closedir(d);
            throw std::runtime_error(path + "/" + name + " has " +
                                     std::to_string(est.st_nlink) +
                                     " hard links, so it may be another file of root's: not "
                                     "given to the user; remove it and start again");
        }
        if ((est.st_uid != uid || est.st_gid != gid) &&
            ::fchownat(entry.get(), "", uid, gid, AT_EMPTY_PATH) != 0) {
            int saved = errno;
            ::closedir(d);
            errno = saved;
            fail("chown " + path + "/" + name);
        }
    }
    ::closedir(d);
    for (const std::string& name : subdirs) {
        UniqueFd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub) {
            chown_tree(sub.get(), path + "/" + name, uid, gid, depth + 1, skip);
        }
    }
}

/// Opens a folder (created if missing) without following a link in its last component.
UniqueFd open_folder(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir); // throws filesystem_error
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        fail("open " + dir.string());
    }
    return fd;
}

/// Gives a secret file to `user` (not following a link; missing: nothing to do).
void give_file(const std::filesystem::path& file, const UserIds& user) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        if (errno == ENOENT || errno == ELOOP) {
            return; // a symbolic link: reading the credentials refuses it, saying why
        }
        fail("open " + file.string());
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        fail("stat " + file.string());
    }
    if (S_ISREG(st.st_mode) && st.st_uid != user.uid && ::fchown(fd.get(), user.uid, static_cast<gid_t>(-1)) != 0) {
        fail("chown " + file.string());
    }
}

std::string can_read(const std::filesystem::path& file) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd || errno == ENOENT) {
        return {};
    }
    return file.string() + ": " + std::strerror(errno);
}

} // namespace

std::string current_user_name() {
    if (const ::passwd* pw = ::getpwuid(::geteuid()); pw != nullptr) {
        return pw->pw_name;
    }
    return "uid " + std::to_string(::geteuid());
}

PrivilegeStep plan_privileges(const Config& config, const char* daemon, UserIds& user) {
    const bool root = ::geteuid() == 0;
    if (!config.user) {
        return root ? PrivilegeStep::root_without_user : PrivilegeStep::none;
    }
    const ::passwd* pw = ::getpwnam(config.user->c_str());
    if (pw == nullptr) {
        throw std::runtime_error("user: " + *config.user + ": no such user on this system");
    }
    user = {pw->pw_name, pw->pw_uid, pw->pw_gid};
    if (::geteuid() == user.uid) {
        return PrivilegeStep::none; // started as that user (systemd User=): nothing to drop
    }
    if (!root) {
        throw std::runtime_error(std::string(daemon) + " runs as " + current_user_name() +
                                 ", which cannot switch to user: " + user.name + " (" +
                                 config.file.string() + "): start it as root or as " +
                                 user.name);
    }
    return PrivilegeStep::drop;
}

void prepare_for_user(const Config& config, const UserIds& user) {
    const Paths& p = config.paths;
    // Every folder is made before any is given away: one may lie inside another (the
    // example's socket_dir /run/lonlink/sockets in run_dir /run/lonlink), and root without
    // CAP_DAC_OVERRIDE (the units' capability set) cannot make a folder inside one that is
    // already the user's.
    for (const auto* dir : {&p.run_dir, &p.log_dir, &p.spool_dir, &p.state_dir, &p.socket_dir}) {
        std::filesystem::create_directories(*dir); // throws filesystem_error naming it
    }
    // socket_dir: the group of the sockets, set-group-id so that they inherit it.
    gid_t socket_gid = user.gid;
    if (config.socket_group && !config.socket_group->empty()) {
        if (const ::group* gr = ::getgrnam(config.socket_group->c_str()); gr != nullptr) {
            socket_gid = gr->gr_gid;
        }
    }
    UniqueFd sockets = open_folder(p.socket_dir);
    // The bit first, while the folder may still be root's (before run_dir's tree, which may
    // hold it, is given away): chmod by a process outside the folder's group silently clears
    // it without CAP_FSETID (which the units do not keep), and chown keeps it on a folder.
    struct stat st {};
    if (::fstat(sockets.get(), &st) != 0) {
        fail("stat " + p.socket_dir.string());
    }
    if ((st.st_mode & S_ISGID) == 0 &&
        ::fchmod(sockets.get(), (st.st_mode & 07777) | S_ISGID) != 0) {
        fail("chmod g+s " + p.socket_dir.string());
    }
    Skip socket_folder{st.st_dev, st.st_ino, true};
    for (const auto* dir : {&p.run_dir, &p.log_dir, &p.spool_dir, &p.state_dir}) {
        UniqueFd fd = open_folder(*dir);
        chown_tree(fd.get(), dir->string(), user.uid, user.gid, 0, socket_folder);
    }
    chown_tree(sockets.get(), p.socket_dir.string(), user.uid, socket_gid, 0);
    if (::fstat(sockets.get(), &st) != 0 || (st.st_mode & S_ISGID) == 0) {
        throw std::runtime_error(p.socket_dir.string() +
                                 " is not set-group-id, so lonc's sockets in it would not get "
                                 "the group socket_group: chmod g+s " + p.socket_dir.string());
    }
    give_file(p.cert_dir / "lonhostkey.pem", user);
    if (config.tls.key_passphrase_file) {
        give_file(*config.tls.key_passphrase_file, user);
    }
}

void drop_to(const UserIds& user) {
    if (::initgroups(user.name.c_str(), user.gid) != 0) {
        fail("initgroups " + user.name);
    }
    if (::setresgid(user.gid, user.gid, user.gid) != 0) {
        fail("setresgid " + std::to_string(user.gid));
    }
    if (::setresuid(user.uid, user.uid, user.uid) != 0) {
        fail("setresuid " + std::to_string(user.uid));
    }
    uid_t r = 0, e = 0, s = 0;
    if (::getresuid(&r, &e, &s) != 0 || r != user.uid || e != user.uid || s != user.uid) {
        throw std::runtime_error("still not " + user.name + " after setresuid");
    }
    if (user.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
        throw std::runtime_error("could become root again after dropping to " + user.name);
    }
    // Nothing we exec (our own children) may gain privileges back through set-user-id or
    // file capabilities.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        fail("prctl(PR_SET_NO_NEW_PRIVS)");
    }
}

std::string unreadable_for_reload(const Config& config) {
    std::vector<std::filesystem::path> files{config.file, config.hosts_file};
    for (const char* f : {"lonhostkey.pem", "lonhostcert.pem", "loncapaCA.pem", "loncapaCRL.pem",
                          "loncapaRoster.pem"}) {
        files.push_back(config.paths.cert_dir / f);
    }
    if (config.tls.key_passphrase_file) {
        files.push_back(*config.tls.key_passphrase_file);
    }
    for (const auto& f : files) {
        if (auto problem = can_read(f); !problem.empty()) {
            return problem;
        }
    }
    return {};
}

} // namespace lon
