#!/usr/bin/env bash
# build.sh: install missing dependencies (scripts/deps.sh), configure and build lonlink.
#   scripts/build.sh [meson setup options...]     e.g. -Dbuildtype=release
# Build folder: $BUILD_DIR (default: build), relative to the checkout. An existing build
# folder is reconfigured; one meson cannot reconfigure (stale, from another meson version,
# half-made) is wiped and set up again. With CI=true, warnings are errors (-Dwerror=true).
# BUILD_TARGETS (paths in the build folder, e.g. daemons/lond/lond) builds only those.
set -euo pipefail

case "${1:-}" in
    --help | -h)
        sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
esac

cd "$(dirname "$0")/.."
./scripts/deps.sh

build=${BUILD_DIR:-build}
opts=("$@")
if [ "${CI:-}" = "true" ]; then
    opts+=(-Dwerror=true)
fi

if [ -f "$build/meson-private/coredata.dat" ]; then
    if ! meson setup --reconfigure "$build" "${opts[@]}"; then
        echo "build.sh: reconfiguring $build failed; wiping it and setting it up again" >&2
        meson setup --wipe "$build" "${opts[@]}"
    fi
elif [ -e "$build" ]; then
    # A folder without meson's state: a plain setup would refuse it if it holds anything.
    if ! meson setup "$build" "${opts[@]}"; then
        echo "build.sh: setting up $build failed; trying again with --wipe" >&2
        meson setup --wipe "$build" "${opts[@]}"
    fi
else
    meson setup "$build" "${opts[@]}"
fi
# shellcheck disable=SC2086 # BUILD_TARGETS is a list of words
ninja -C "$build" ${BUILD_TARGETS:-}
