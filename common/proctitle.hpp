#pragma once

#include <string_view>

/// Process titles the PostgreSQL ps_status way: the argv area (and the environment strings
/// after it, which are moved away first) is overwritten, so `ps` and /proc/<pid>/cmdline show
/// the title. The title buffer is the one piece of process-global state; it lives in
/// proctitle.cpp only.
namespace lon::proctitle {

/// Must run first in main(), before anything reads argv or environ.
void save_args(int argc, char** argv);
/// Shows `title` as the whole command line (truncated to the available area).
void set(std::string_view title);
/// Sets the kernel's short name (prctl PR_SET_NAME, 15 chars), e.g. "lonc".
void set_comm(std::string_view name);

} // namespace lon::proctitle
