#pragma once

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

#include "roster.hpp"

namespace lon::link {

/// cert_dir/loncapaRoster.pem: the cluster CA's signed list of hosts holding a certificate
/// (see proto/roster.hpp for the text and PROTOCOL.md "CA roster" for what it guarantees).
/// It is a PEM CMS (PKCS#7) signed-data message with the text inside, signed with a key whose
/// certificate is in cert_dir/loncapaCA.pem (make-cluster-ca's CA: sign-response writes it).
inline constexpr const char* roster_file_name = "loncapaRoster.pem";

/// Outcome of reading the roster file.
struct RosterLoad {
    std::optional<proto::Roster> roster;
    bool absent = false; ///< no roster file: peers not pinned stay trust-on-first-use
    std::string error;   ///< present but unusable: names the file and the reason
};

/// Reads and verifies cert_dir/loncapaRoster.pem against cert_dir/loncapaCA.pem (startup and
/// reload only: blocking file I/O). Never follows a symlink at the file itself.
[[nodiscard]] RosterLoad load_roster(const std::filesystem::path& cert_dir);

/// The roster a daemon child uses, across reloads: the newest valid one it has seen.
class RosterKeeper final {
public:
    /// (Re)reads the file and logs the outcome. A bad, foreign-signed or older roster, or a
    /// missing file after one was loaded, leaves the current one in force (never go back).
    void reload(const std::filesystem::path& cert_dir);
    /// Whether the CA lists `peer` with a certificate unexpired at `now`.
    [[nodiscard]] bool lists(const std::string& peer, std::time_t now) const;
    [[nodiscard]] const proto::Roster* roster() const { return roster_ ? &*roster_ : nullptr; }
    /// The last load error ("" when the last load was fine or the file absent).
    [[nodiscard]] const std::string& error() const { return error_; }

private:
    std::optional<proto::Roster> roster_;
    std::string error_;
};

} // namespace lon::link
