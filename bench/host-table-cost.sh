#!/usr/bin/env bash
# Host-table cost (issue 9 §7): what a link costs with a small and a large hosts table.
# For each table size, starts a fresh 2-host cluster (insecure, private loopback addresses)
# whose table also lists size-2 hosts that run nothing (unused 127.x addresses, so nothing
# goes to DNS), waits until both parents have started (their titles are set), times the
# first `ping` over the fresh link (local connect to reply, which includes starting the lonc
# child, connecting, and starting the lond child), then reads
# Private_Clean+Private_Dirty from /proc/<pid>/smaps_rollup of both parents and of the lonc
# child (host A, peer B) and the lond child (host B, peer A). Bounded; stops what it started,
# by pid.
#   bench/host-table-cost.sh [BUILD_DIR] [SIZES (default "2 2000")] [ROUNDS (default 3)] [yaml|tab]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
sizes=${2:-2 2000}
rounds=${3:-3}
format=${4:-yaml}
lond=$build/daemons/lond/lond
lonc=$build/daemons/lonc/lonc
for b in "$lond" "$lonc"; do
    [ -x "$b" ] || { echo "host-table-cost: missing $b (build first)" >&2; exit 1; }
done
net=127.$((150 + $$ % 50)).$((($$ / 50) % 250))
spare=127.$((200 + $$ % 50))
dir=$(mktemp -d /tmp/lonlink-htc.XXXXXX)
pids=()
stop_all() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
}
cleanup() { stop_all; rm -rf "$dir"; }
trap cleanup EXIT

private_kib() { # Private_Clean + Private_Dirty of one process, in KiB
    awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup"
}
write_table() { # $1: total entries
    local n=$1 i
    if [ "$format" = tab ]; then
        {
            echo "benchb:bench:library:$net.12:https"
            echo "bencha:bench:library:$net.11:https"
            for ((i = 2; i < n; i++)); do
                echo "spare$i:bench:access:$spare.$((i / 250)).$((i % 250 + 1)):https"
            done
        } > "$dir/hosts.tab"
    else
        {
            echo "hosts:"
            echo "  - { id: bencha, address: $net.11 }"
            echo "  - { id: benchb, address: $net.12 }"
            for ((i = 2; i < n; i++)); do
                echo "  - { id: spare$i, address: $spare.$((i / 250)).$((i % 250 + 1)), domain: bench, role: access }"
            done
        } > "$dir/hosts.yaml"
    fi
}
first_ping() { # prints milliseconds from connect to the reply line
    python3 - "$1" <<'EOF'
import socket, sys, time
t0 = time.perf_counter()
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
s.sendall(b"ping\n")
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(256)
    if not chunk:
        break
    buf += chunk
print("%.1f %s" % ((time.perf_counter() - t0) * 1000, buf.decode().strip()))
EOF
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

printf '%-7s %-6s %9s %12s %12s %12s %12s\n' entries round ping_ms lonc_child lond_child \
    lonc_parent lond_parent
for size in $sizes; do
    for ((r = 1; r <= rounds; r++)); do
        rm -rf "$dir/a" "$dir/b"
        write_table "$size"
        for h in a b; do
            addr=$net.$([ $h = a ] && echo 11 || echo 12)
            mkdir -p "$dir/$h"
            cat > "$dir/$h/lonlink.yaml" <<EOT
host_id: bench$h
hosts_file: ../hosts.$format
listen: { address: $addr, port: 5663 }
socket_group: null
EOT
            "$lond" --config "$dir/$h/lonlink.yaml" --foreground 2>>"$dir/$h.err" & pids+=($!)
            "$lonc" --config "$dir/$h/lonlink.yaml" --foreground 2>>"$dir/$h.err" & pids+=($!)
        done
        sock=$dir/a/sockets/benchb
        for _ in $(seq 600); do
            [ -S "$sock" ] && [ -f "$dir/b/run/lond.pid" ] && [ -f "$dir/a/run/lonc.pid" ] && break
            sleep 0.05
        done
        [ -S "$sock" ] || { echo "host-table-cost: cluster did not start" >&2; cat "$dir"/*.err >&2; exit 1; }
        # Time the link, not the parents' own start (binding 2,000 sockets takes a while):
        # wait until lonc A and lond B have set their titles, the last step of their start.
        for _ in $(seq 600); do
            tr '\0' ' ' < "/proc/${pids[1]}/cmdline" | grep -q '^lonc: parent' &&
                tr '\0' ' ' < "/proc/${pids[2]}/cmdline" | grep -q '^lond: parent' && break
            sleep 0.05
        done
        read -r ms reply < <(first_ping "$sock")
        [ "$reply" = benchb ] || { echo "host-table-cost: ping answered '$reply'" >&2; exit 1; }
        # pids: lond a, lonc a, lond b, lonc b
        lonc_child=$(pgrep -P "${pids[1]}" | head -1)
        lond_child=$(pgrep -P "${pids[2]}" | head -1)
        printf '%-7s %-6s %9s %12s %12s %12s %12s\n' "$size" "$r" "$ms" \
            "$(private_kib "$lonc_child")" "$(private_kib "$lond_child")" \
            "$(private_kib "${pids[1]}")" "$(private_kib "${pids[2]}")" | tee -a "$dir/rows"
        stop_all
    done
done
echo "medians (private memory in KiB):"
for size in $sizes; do
    row() { awk -v s="$size" -v c="$1" '$1 == s {print $c}' "$dir/rows" | median; }
    printf '%-7s %-6s %9s %12s %12s %12s %12s\n' "$size" median "$(row 3)" "$(row 4)" "$(row 5)" \
        "$(row 6)" "$(row 7)"
done
