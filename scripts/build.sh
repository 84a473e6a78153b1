#!/usr/bin/env bash
# Installs dependencies and builds lonlink into $BUILD_DIR (default: build).
#   scripts/build.sh [extra meson setup options...]
set -euo pipefail
if [ "${1:-}" = "--help" ]; then
    echo "usage: scripts/build.sh [meson options]   deps + meson setup + ninja (BUILD_DIR=build)"
    exit 0
fi
cd "$(dirname "$0")/.."
./scripts/deps.sh
build=${BUILD_DIR:-build}
opts=("$@")
if [ "${CI:-}" = "true" ]; then
    opts+=(-Dwerror=true)
fi
if [ -f "$build/build.ninja" ]; then
    meson configure "$build" "${opts[@]}" >/dev/null 2>&1 || meson setup --wipe "$build" "${opts[@]}"
else
    meson setup "$build" "${opts[@]}"
fi
ninja -C "$build"
