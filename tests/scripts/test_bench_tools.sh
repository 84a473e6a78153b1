#!/usr/bin/env bash
# Tests of the benchmark tools themselves (bench/lonecho, bench/lonload, bench/bindfloor), which
# bench/compare and bench/mesh trust for their figures: the echo server's replies, many lines
# per connection and many connections; the load tool's JSON (percentiles in order), its
# --connect-per-request (one connection per request, counted by the server), --pipeline (lines
# reach the server together), large payloads, and that it counts wrong replies as errors;
# benchlib's reading of the machine's busy CPU (bench/mesh); bench/compare's rule for windows
# the hypervisor stole (made-up figures); bench/ab and bench/child-cost on 2 hosts.
# Env: LONLINK_BUILD (default <repo>/${BUILD_DIR:-build}); needs python3. Skipped (0 passed)
# when the build has no bench tools (-Dbench=false). Everything in a temporary folder; every
# process started is stopped by pid. Prints "ok - ..." / "not ok - ..." and "N passed, M failed".
set -euo pipefail

if [ "${1:-}" = "--help" ]; then
    echo "usage: tests/scripts/test_bench_tools.sh   test bench/lonecho, lonload and bindfloor"
    exit 0
fi

root=$(cd -- "$(dirname -- "$(readlink -f -- "$0")")/../.." && pwd)
build=${LONLINK_BUILD:-$root/${BUILD_DIR:-build}}
lonecho=$build/bench/lonecho
lonload=$build/bench/lonload
bindfloor=$build/bench/bindfloor
if [ ! -x "$lonload" ] || [ ! -x "$lonecho" ] || [ ! -x "$bindfloor" ]; then
    echo "skip - no bench tools in $build (built with -Dbench=false?)"
    echo "0 passed, 0 failed"
    exit 0
fi
t=$(mktemp -d /tmp/lonbench-test.XXXXXX)
pids=()
cleanup() {
    stop_pids "${pids[@]}"
    rm -rf -- "$t"
}
trap cleanup EXIT
exec </dev/null

. "$(dirname -- "$0")/lib/tap.sh"

# start_echo NAME: a lonecho on $t/NAME.sock, stderr in $t/NAME.err; waits for the socket.
start_echo() {
    "$lonecho" --unix "$t/$1.sock" 2>"$t/$1.err" &
    pids+=($!)
    eval "${1}_pid=$!"
    for _ in $(seq 100); do [ -S "$t/$1.sock" ] && return 0; sleep 0.05; done
    echo "lonecho did not start" >&2
    return 1
}
# stop_echo NAME: TERM it and wait, so its counters are in $t/NAME.err.
stop_echo() {
    local p
    p=$(eval echo "\$${1}_pid")
    kill -TERM "$p"
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.05; done
    return 1
}
# json_check FILE EXPR: python3 evaluates EXPR with j = the last JSON line of FILE.
json_check() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
ok = eval(sys.argv[2])
print(j)
sys.exit(0 if ok else 1)
EOF
}

start_echo e1

# --- lonecho: the text after the last ':', pipelined lines, concurrent connections, half-close
check "lonecho answers the text after each line's last ':' (pipelined, two connections, half-close)" \
    python3 - "$t/e1.sock" <<'EOF'
import socket, sys
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); return s
a, b = conn(), conn()
a.sendall(b"echo:abc\nbencha:becho:zz\nplain\n")
b.sendall(b"echo:second\n")
b.shutdown(socket.SHUT_WR)
def lines(s, n):
    buf = b""
    s.settimeout(5)
    while buf.count(b"\n") < n:
        d = s.recv(65536)
        if not d: break
        buf += d
    return buf.decode().split("\n")[:n]
got = lines(a, 3), lines(b, 1)
print(got)
sys.exit(0 if got == (["abc", "zz", "plain"], ["second"]) else 1)
EOF

# --- lonload: JSON with ordered percentiles, no errors, over a time window
check "lonload --duration --json: requests, no errors, p50 <= p90 <= p99 <= max" bash -c '
    timeout 20 "$1" --socket "$2" --connections 4 --duration 0.5 --json >"$3" &&
    python3 -c "
import json,sys
j=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(j)
sys.exit(0 if j[\"requests\"]>0 and j[\"errors\"]==0 and j[\"rps\"]>0 and
  0<j[\"p50_us\"]<=j[\"p90_us\"]<=j[\"p99_us\"]<=j[\"max_us\"] else 1)" "$3"' _ \
    "$lonload" "$t/e1.sock" "$t/duration.json"

check "lonload --payload 1048576: large lines echoed and checked" bash -c '
    timeout 20 "$1" --socket "$2" --connections 2 --requests 6 --payload 1048576 --json >"$3" &&
    python3 -c "
import json,sys
j=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(j)
sys.exit(0 if j[\"requests\"]==6 and j[\"errors\"]==0 and j[\"payload\"]==1048576 else 1)" "$3"' _ \
    "$lonload" "$t/e1.sock" "$t/big.json"

# --- --connect-per-request: the server sees exactly one connection per request
start_echo e2
check "lonload --connect-per-request: 200 requests, 200 connections at the server" bash -c '
    timeout 20 "$1" --socket "$2" --connections 4 --requests 200 --connect-per-request --json >"$3"' _ \
    "$lonload" "$t/e2.sock" "$t/cpr.json"
check "lonecho counted 200 connections and 200 lines (one line per connection)" bash -c '
    kill -TERM "$1"; for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
    cat "$2"; grep -q "^lonecho: 200 lines, 200 connections, max 1 lines per read" "$2"' _ \
    "$e2_pid" "$t/e2.err"

# --- --pipeline: with 32 in flight on one connection, lines reach the server together
start_echo e3
check "lonload --pipeline 32: 2000 requests on one connection, no errors" bash -c '
    timeout 20 "$1" --socket "$2" --connections 1 --pipeline 32 --requests 2000 --json >"$3" &&
    python3 -c "
import json,sys
j=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(j)
sys.exit(0 if j[\"requests\"]==2000 and j[\"errors\"]==0 and j[\"pipeline\"]==32 else 1)" "$3"' _ \
    "$lonload" "$t/e3.sock" "$t/pipe.json"
check "lonecho saw one connection and several lines per read" bash -c '
    kill -TERM "$1"; for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
    cat "$2"
    [[ $(cat "$2") =~ ^lonecho:\ 2000\ lines,\ 1\ connections,\ max\ ([0-9]+)\ lines\ per\ read ]] &&
    [ "${BASH_REMATCH[1]}" -gt 1 ]' _ "$e3_pid" "$t/e3.err"

# --- wrong replies are errors, never counted as answered
check "lonload counts wrong replies as errors (and exits 1 when nothing was right)" bash -c '
    python3 - "$2" <<"EOF" &
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8); s.settimeout(20)
c, _ = s.accept(); c.settimeout(20)
buf = b""
n = 0
while n < 10:
    d = c.recv(65536)
    if not d: break
    buf += d
    while b"\n" in buf:
        _, buf = buf.split(b"\n", 1); n += 1; c.sendall(b"nope\n")
c.close()
EOF
    srv=$!
    for _ in $(seq 100); do [ -S "$2" ] && break; sleep 0.05; done
    rc=0; timeout 20 "$1" --socket "$2" --connections 1 --requests 10 --json >"$3" || rc=$?
    wait $srv
    python3 -c "
import json,sys
j=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(j, sys.argv[2])
sys.exit(0 if j[\"requests\"]==0 and j[\"errors\"]==10 and sys.argv[2]==\"1\" else 1)" "$3" "$rc"' _ \
    "$lonload" "$t/wrong.sock" "$t/wrong.json"

# --- bindfloor: binds and removes N sockets
mkdir -p "$t/floor"
check "bindfloor binds 300 unix sockets, prints its time and leaves none behind" bash -c '
    out=$("$1" --dir "$2" --count 300) && echo "$out" &&
    [[ $out =~ ^[0-9]+\.[0-9]+$ ]] && [ -z "$(ls -A "$2")" ]' _ "$bindfloor" "$t/floor"

# --- benchlib.machine_busy_seconds: the busy-CPU figure of bench/mesh
check "benchlib's machine busy CPU grows by at least the CPU a busy loop burns" \
    python3 - "$root/bench" <<'EOF'
import os, sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import benchlib as bl
b0, c0 = bl.machine_busy_seconds(), time.process_time()
while time.process_time() - c0 < 0.5:
    pass
burned, busy = time.process_time() - c0, bl.machine_busy_seconds() - b0
print(f"burned {burned:.2f} s, machine busy {busy:.2f} s")
sys.exit(0 if busy >= burned - 0.05 else 1)
EOF

# --- bench/compare's steal rule (least_stolen with a Budget), with made-up windows
check "a round with a stolen window is measured again as a whole; the least stolen attempt counts" \
    python3 - "$root/bench" <<'EOF'
import importlib.machinery, importlib.util, os, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
loader = importlib.machinery.SourceFileLoader("bench_compare", os.path.join(sys.argv[1], "compare"))
cmp = importlib.util.module_from_spec(importlib.util.spec_from_loader("bench_compare", loader))
loader.exec_module(cmp)

def run(steals, deadline=1e6, windows=2):
    """steals: the steal share of each window in the order measured."""
    seq, calls = iter(steals), []
    def measure(name):
        calls.append(name)
        return {"steal_share": next(seq)}
    budget = cmp.Budget(deadline, 0.0, windows)
    rs, n = cmp.least_stolen(["a", "b"], measure, budget, 0.10, "test:")
    return rs, n, calls

rs, n, calls = run([0.01, 0.02])                      # quiet: one attempt
assert n == 1 and calls == ["a", "b"], (n, calls)
rs, n, calls = run([0.01, 0.30, 0.05, 0.20, 0.02, 0.04])  # b stolen: whole rounds again
assert n == 3 and calls == ["a", "b"] * 3, (n, calls)
assert rs["a"]["steal_share"] == 0.02 and rs["b"]["steal_share"] == 0.04, rs
assert all(r["attempts"] == 3 for r in rs.values()), rs
rs, n, calls = run([0.01, 0.30, 0.50, 0.40, 0.60, 0.70])  # later attempts worse: first kept
assert n == 3 and rs["b"]["steal_share"] == 0.30, (n, rs)
rs, n, calls = run([0.01, 0.30], deadline=-1)          # no time: first attempt only, skipped
assert n == 1 and calls == [] and rs == {}, (n, calls, rs)
print("ok")
EOF

# --- bench/ab: one round of one short window per build (the same build twice)
check "bench/ab measures both builds, interleaved, and prints B/A ratios" \
    bash -c 'timeout 300 "$1/bench/ab" --a "$2" --b "$2" --scenarios c1 --rows builtin \
        --duration 0.3 --rounds 1 --json "$3" >"$3.md" 2>"$3.err" &&
        grep -q "B/A req/s" "$3.md" && grep -q "^| c1 | builtin | [0-9]" "$3.md" &&
        python3 -c "
import json, sys
w = json.load(open(sys.argv[1]))[\"windows\"]
assert sorted(x[\"build\"] for x in w) == [\"A\", \"B\"], w
assert all(x[\"requests\"] > 0 and x[\"errors\"] == 0 for x in w), w
" "$3"' _ "$root" "$build" "$t/ab.json"

# --- bench/child-cost: one round on a 2-host cluster (certificates by the project's scripts)
check "bench/child-cost measures a lonc and a lond child, each costing more CPU than a bare start" \
    bash -c 'timeout 300 "$1/bench/child-cost" --build "$2" --hosts 2 --rounds 1 --json "$3" &&
        python3 - "$3" "$2" <<'"'"'EOF'"'"'
import json, sys
m = json.load(open(sys.argv[1]))[sys.argv[2]]
med, runs = m["median"], m["all"]
print(med, {k: len(v) for k, v in runs.items()})
ok = (len(runs["lonc"]) == 1 and len(runs["lond"]) == 1 and len(runs["version"]) >= 1
      and med["version"][0] > 0.5 and med["version"][1] > 10
      and med["lonc"][0] > med["version"][0] and med["lond"][0] > med["version"][0]
      and med["lonc"][1] > med["version"][1] and med["parents"][0] > 0)
sys.exit(0 if ok else 1)
EOF' _ "$root" "$build" "$t/child-cost.json"

tap_summary
