#pragma once

#include <string>
#include <string_view>

#include "config.hpp"

namespace lon::link {

/// After each HUP a parent rewrites run_dir/<daemon>.reload with one line saying whether it
/// took the new set: "<pid> <n> reloaded <config file>" or "<pid> <n> refused: <reason>"
/// (n counts this process's HUPs). `loncontrol reload` waits for the line to change and
/// reports it, so an admin is told of a refused reload instead of reading the log.
/// `error` empty: reloaded. A file that cannot be written is logged (the log says it too).
void write_reload_result(const Config& config, std::string_view daemon, const std::string& error);

} // namespace lon::link
