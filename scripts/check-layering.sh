#!/usr/bin/env bash
# Fails if a layer includes what it must not: proto/ is pure (no Asio, OpenSSL or system
# headers), common/ has no Asio/OpenSSL, and nothing outside a daemon includes its files.
set -euo pipefail
[ "${1:-}" = "--help" ] && { echo "usage: scripts/check-layering.sh"; exit 0; }
cd "$(dirname "$0")/.."
bad=0
check() { # pattern, files..., message
    local pattern=$1 msg=$2; shift 2
    local hits
    hits=$(grep -nE "$pattern" "$@" 2>/dev/null || true)
    if [ -n "$hits" ]; then
        echo "layering: $msg" >&2
        echo "$hits" >&2
        bad=1
    fi
}
check '#include *[<"](asio|openssl|sys/|unistd|fcntl|netinet|arpa/|poll\.h|netdb)' "layering: proto/ must stay pure (no I/O headers)" proto/*.hpp proto/*.cpp
check '#include *[<"](asio|openssl)' "common/ must not use Asio or OpenSSL" common/*.hpp common/*.cpp
check '#include *"(\.\./)*(daemons/)?(lonc|lond)/' "only a daemon includes its own files" common/* proto/* daemons/link/*
if [ $bad -eq 0 ]; then
    echo "layering ok"
fi
exit $bad
