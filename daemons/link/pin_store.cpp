#include "pin_store.hpp"

#include <ctime>

#include "file_write.hpp"

namespace lon::link {

bool is_pinned(const std::filesystem::path& state_dir, const std::string& peer) {
    std::error_code ec;
    return std::filesystem::exists(state_dir / "pinned" / peer, ec);
}

bool pin(const std::filesystem::path& state_dir, const std::string& peer,
         const std::string& peer_subject) {
    if (is_pinned(state_dir, peer)) {
        return true;
    }
    std::error_code ec;
    std::filesystem::create_directories(state_dir / "pinned", ec);
    return write_file_atomic(state_dir / "pinned" / peer,
                             "peer " + peer + " negotiated ssl (certificate CN=" + peer_subject +
                                 ") at " + std::to_string(std::time(nullptr)) + "\n");
}

} // namespace lon::link
