#include "proctitle.hpp"

#include <algorithm>
#include <cstring>

#include <sys/prctl.h>

extern char** environ;

namespace lon::proctitle {
namespace {

// The one process-global piece of state: the argv/environ area we may overwrite.
char* area = nullptr;
std::size_t area_size = 0;

} // namespace

void save_args(int argc, char** argv) {
    if (argc <= 0 || argv == nullptr || argv[0] == nullptr || area != nullptr) {
        return;
    }
    // The area runs from argv[0] over every contiguous argv and environ string.
    char* start = argv[0];
    char* end = argv[0] + std::strlen(argv[0]) + 1;
    for (int i = 1; i < argc; ++i) {
        if (argv[i] == end) {
            end = argv[i] + std::strlen(argv[i]) + 1;
        }
    }
    std::size_t env_count = 0;
    while (environ != nullptr && environ[env_count] != nullptr) {
        ++env_count;
    }
    for (std::size_t i = 0; i < env_count; ++i) {
        if (environ[i] == end) {
            end = environ[i] + std::strlen(environ[i]) + 1;
        }
    }
    // Move environ and argv strings elsewhere so getenv() and later argv reads stay valid
    // once the area is overwritten. Never freed on purpose: they live as long as the process.
    char** new_env = new char*[env_count + 1];
    for (std::size_t i = 0; i < env_count; ++i) {
        new_env[i] = ::strdup(environ[i]);
    }
    new_env[env_count] = nullptr;
    environ = new_env;
    for (int i = 0; i < argc; ++i) {
        argv[i] = ::strdup(argv[i]);
    }
    area = start;
    area_size = static_cast<std::size_t>(end - start);
}

void set(std::string_view title) {
    if (area == nullptr || area_size < 2) {
        return;
    }
    std::size_t n = std::min(title.size(), area_size - 1);
    std::memcpy(area, title.data(), n);
    // NUL padding: /proc/<pid>/cmdline then reads as the title followed only by NULs, and ps
    // shows the title alone.
    std::memset(area + n, 0, area_size - n);
}

void set_comm(std::string_view name) {
    char buf[16] = {};
    std::memcpy(buf, name.data(), std::min(name.size(), sizeof buf - 1));
    ::prctl(PR_SET_NAME, buf, 0, 0, 0);
}

} // namespace lon::proctitle
