#!/usr/bin/env bash
# End-to-end benchmark: starts a 2-host cluster on private loopback addresses, drives load
# through host A's lonc to host B's lond with lonload --reference (which also measures a local
# reference in the same run), prints throughput as a ratio, and the resident memory of every daemon
# process. Bounded in time; stops what it started, by pid.
#   bench/run-e2e.sh [BUILD_DIR] [lonload options...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
shift || true
lond=$build/daemons/lond/lond
lonc=$build/daemons/lonc/lonc
lonload=$build/bench/lonload
for b in "$lond" "$lonc" "$lonload"; do
    [ -x "$b" ] || { echo "run-e2e: missing $b (build first)" >&2; exit 1; }
done
# 127.200-209: the tests hold 127.100-199, bench/compare and bench/mesh 127.210-219.
net=127.$((200 + $$ % 10)).$((1 + ($$ / 10) % 250))
dir=$(mktemp -d /tmp/lonlink-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT
cat > "$dir/hosts.yaml" <<EOT
hosts:
  - { id: bencha, address: $net.11 }
  - { id: benchb, address: $net.12 }
EOT
for h in a b; do
    addr=$net.$([ $h = a ] && echo 11 || echo 12)
    mkdir -p "$dir/$h"
    cat > "$dir/$h/lonlink.yaml" <<EOT
host_id: bench$h
hosts_file: ../hosts.yaml
listen: { address: $addr, port: 5663 }
socket_group: null
EOT
    "$lond" --config "$dir/$h/lonlink.yaml" --foreground 2>>"$dir/$h.err" & pids+=($!)
    "$lonc" --config "$dir/$h/lonlink.yaml" --foreground 2>>"$dir/$h.err" & pids+=($!)
done
sock=$dir/a/sockets/benchb
for _ in $(seq 100); do [ -S "$sock" ] && [ -f "$dir/b/run/lond.pid" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "run-e2e: cluster did not start" >&2; cat "$dir"/*.err >&2; exit 1; }
timeout 300 "$lonload" --socket "$sock" --reference --requests 20000 --connections 4 \
    --pipeline 32 "$@"
echo "resident memory after the run (kB):"
for p in "${pids[@]}" $(for p in "${pids[@]}"; do pgrep -P "$p" || true; done); do
    title=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | sed 's/ *$//')
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null)
    [ -n "$rss" ] && printf '  %8s  %s\n' "$rss" "$title"
done
