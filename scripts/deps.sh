#!/usr/bin/env bash
# Installs the Debian packages lonlink needs to build, test and run (quiet when all present).
# As root: apt-get installs what is missing. Otherwise: prints the exact apt-get line, exit 1.
set -euo pipefail
if [ "${1:-}" = "--help" ]; then
    echo "usage: scripts/deps.sh   install missing build/test dependencies (Debian 12)"
    exit 0
fi
packages=(build-essential pkg-config meson ninja-build libasio-dev libssl-dev libyaml-cpp-dev
          libspdlog-dev libfmt-dev catch2 libbenchmark-dev openssl procps iproute2)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "lonlink needs these Debian packages; run as root:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
