#pragma once

#include <filesystem>
#include <string>

namespace lon::link {

/// Pinning: once a peer has negotiated ssl, a file state_dir/pinned/<peer> records it, and
/// from then on an insecure link with that peer is a downgrade, refused until an admin runs
/// `loncontrol unpin <peer>` (which removes the file).
[[nodiscard]] bool is_pinned(const std::filesystem::path& state_dir, const std::string& peer);
/// Records the pin (idempotent). Returns false if it could not be written (logged by caller).
bool pin(const std::filesystem::path& state_dir, const std::string& peer,
         const std::string& peer_subject);

} // namespace lon::link
