#pragma once

// Running as the config's `user:` (docs/privileges-and-logs.md). A daemon parent started as
// root prepares its folders for that user, reads what only root may read, then drops to it
// before it serves; the children it execs inherit the user. Setup order (main): config →
// plan_privileges → prepare_for_user → read credentials → bind what needs root → drop_to →
// logging, pid file, sockets → serve.

#include <string>

#include <sys/types.h>

#include "config.hpp"

namespace lon {

/// A system user as the daemons run as it.
struct UserIds {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0; ///< its primary group
};

/// What a parent does about `user:` given who it runs as.
enum class PrivilegeStep {
    root_without_user, ///< root and no `user:`: runs as root, as before, and warns
    drop,              ///< root and `user:`: prepare, read, then drop_to
    none,              ///< not root and no `user:`, or already running as `user:`
};

/// The step for this process (its effective uid) and `config.user`. Throws
/// std::runtime_error when another non-root user runs a daemon whose config names a user
/// (it could not switch), or when the user no longer exists.
[[nodiscard]] PrivilegeStep plan_privileges(const Config& config, const char* daemon,
                                            UserIds& user);

/// Root, before the drop: creates run_dir, log_dir, spool_dir, state_dir and socket_dir and
/// gives them and everything in them (earlier runs as root left files there; links are not
/// followed) to `user` and its group; socket_dir instead gets the group `socket_group`
/// (when it exists) with the set-group-id bit, so that the sockets lonc makes in it as
/// `user` belong to socket_group even when `user` is not a member. The private key
/// (cert_dir/lonhostkey.pem) and tls.key_passphrase_file, when present, become `user`'s,
/// so that HUP can read them again after the drop; their modes are kept. Throws
/// std::runtime_error naming the path.
void prepare_for_user(const Config& config, const UserIds& user);

/// Root: becomes `user` with its primary group and its supplementary groups (initgroups),
/// real, effective and saved ids alike, sets no_new_privs, and checks that root cannot be
/// had back (setuid(0) fails). Throws std::runtime_error.
void drop_to(const UserIds& user);

/// After the drop: what a reload (HUP) reads that this process cannot read — the config
/// file, the hosts table, the certificate files present in cert_dir and the passphrase
/// file — as "<path>: <reason>", or "" when all are readable.
[[nodiscard]] std::string unreadable_for_reload(const Config& config);

/// The name of the user this process runs as (effective uid), or the number.
[[nodiscard]] std::string current_user_name();

} // namespace lon
