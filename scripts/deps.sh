#!/usr/bin/env bash
# deps.sh: make sure the Debian 12 packages lonlink needs to build, test and run are installed.
#   scripts/deps.sh            check, install what is missing; silent when nothing is missing
#   . scripts/deps.sh          the same from another script (defines lonlink_deps, runs it)
# As root, missing packages are installed with apt-get (apt-get update first, once), without
# prompts. As another user, the exact apt-get line to run is printed on stderr and the
# status is 1. Status 0 when everything is (now) installed. When sourced, the caller's shell
# options are left alone.

# clang and libclang-rt-dev (libFuzzer, ASan and UBSan runtimes; only a recommendation of
# clang, so named here) build the fuzz targets: scripts/fuzz, also run by scripts/test.
# faketime and libfaketime let integration tests ([clock]) move the daemons' wall clock.
# mandoc lints the man pages in tests/scripts/test_install.sh; strace counts system calls in
# tests/scripts/test_parent_start.sh.
LONLINK_DEB_PACKAGES=(build-essential pkg-config meson ninja-build libasio-dev libssl-dev
    libyaml-cpp-dev libspdlog-dev libfmt-dev catch2 libbenchmark-dev openssl procps iproute2
    nftables socat netcat-openbsd python3 clang libclang-rt-dev faketime libfaketime
    mandoc strace)

# lonlink_deps: installs (or, when not root, names) the missing packages. Returns 0 or 1.
lonlink_deps() {
    local p missing=()
    for p in "${LONLINK_DEB_PACKAGES[@]}"; do
        if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "lonlink: missing Debian packages: ${missing[*]}; install them with:" >&2
        echo "sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
        return 1
    fi
    echo "lonlink: installing missing Debian packages: ${missing[*]}" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null; then
        echo "lonlink: apt-get update failed" >&2
        return 1
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >/dev/null; then
        echo "lonlink: apt-get install ${missing[*]} failed" >&2
        return 1
    fi
    return 0
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    # Sourced: run the check, hand the status back to the caller.
    lonlink_deps
    return $?
fi
set -euo pipefail

case "${1:-}" in
    --help | -h)
        sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    "") ;;
    *)
        echo "deps.sh: unknown argument $1 (see --help)" >&2
        exit 2
        ;;
esac
lonlink_deps
