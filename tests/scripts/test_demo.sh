#!/usr/bin/env bash
# Tests for scripts/demo: it runs the README's certificate workflow for demo1 and demo2, so
# that their link is ssl and their links with demo3 (no certificate) insecure, in the process
# titles (read from /proc) and in `loncontrol status`; a second run works (the CA is kept);
# `--stop` stops every process it started. The demo runs on 127.231.<n>.11-13 (tests use
# 127.100-199, bench 127.200-219, the demo 127.0.0.x by default) under a temporary DEMO_DIR,
# with the build folder $BUILD_DIR (default build; the demo runs scripts/build.sh, which is
# quick on a built tree). Every process the demo started is stopped on exit (by pid).
# Needs bash, openssl, procps, socat or python3.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed"; exit 1 on any failure.
set -euo pipefail

if [ "${1:-}" = "--help" ]; then
    echo "usage: tests/scripts/test_demo.sh   run scripts/demo twice on 127.231.x and check the ssl/insecure links"
    exit 0
fi

root=$(cd -- "$(dirname -- "$(readlink -f -- "$0")")/../.." && pwd)
t=$(mktemp -d)
export DEMO_DIR=$t/demo
export DEMO_NET=127.231.$((1 + $$ % 250))
unset LONLINK_CONFIG
exec </dev/null

# Processes are remembered as PID:STARTTIME (field 22 of /proc/PID/stat), so that a pid the
# kernel has since given to another process is never taken for the demo's, nor killed.
seen_pids=()
start_time() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
# same_process PID:STARTTIME: that process still exists (and is not a zombie).
same_process() {
    local p=${1%%:*} st
    st=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || return 1
    [ "$(echo "$st" | cut -d' ' -f20)" = "${1#*:}" ] && [ "$(echo "$st" | cut -d' ' -f1)" != Z ]
}
# remember_pids: every parent of the demo (pid files) and its children, for the cleanup.
remember_pids() {
    local f p c
    for f in "$DEMO_DIR"/demo*/run/lon[cd].pid; do
        [ -f "$f" ] || continue
        p=$(head -n 1 "$f" | tr -dc 0-9)
        [ -n "$p" ] || continue
        for c in "$p" $(pgrep -P "$p" || true); do
            seen_pids+=("$c:$(start_time "$c")")
        done
    done
}
# none_left PID:STARTTIME...: none of them runs any more.
none_left() {
    local e
    for e in "$@"; do
        if same_process "$e"; then
            echo "pid ${e%%:*} still runs: $(tr '\0' ' ' <"/proc/${e%%:*}/cmdline" 2>/dev/null)"
            return 1
        fi
    done
}
cleanup() {
    "$root/scripts/demo" --stop >/dev/null 2>&1 || true
    local e
    for e in "${seen_pids[@]}"; do
        if same_process "$e"; then kill -KILL "${e%%:*}" 2>/dev/null || true; fi
    done
    rm -rf -- "$t"
}
trap cleanup EXIT

. "$(dirname -- "$0")/lib/tap.sh"

# title_of PARENT_PID PREFIX: the title of PARENT_PID's child whose title starts with PREFIX.
title_of() {
    local c s
    for c in $(pgrep -P "$1" || true); do
        s=$(tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null || true)
        s=${s%"${s##*[! ]}"}
        case "$s" in "$2"*) echo "$s"; return 0 ;; esac
    done
    return 1
}
pid_of() { head -n 1 "$DEMO_DIR/$1/run/$2.pid" | tr -dc 0-9; }
# has_title HOST DAEMON PEER MODE: HOST's DAEMON child for PEER shows a connection and (MODE).
has_title() {
    local s
    s=$(title_of "$(pid_of "$1" "$2")" "$2: $3 Connection count: ") || { echo "no $2 child for $3 on $1"; return 1; }
    echo "$s"
    [[ $s =~ ^$2:\ $3\ Connection\ count:\ [1-9][0-9]*\ .*\($4\)$ ]]
}
check_links() {
    local run=$1 from to mode
    for from in demo1 demo2 demo3; do
        for to in demo1 demo2 demo3; do
            [ "$from" = "$to" ] && continue
            if [ "$from" = demo3 ] || [ "$to" = demo3 ]; then mode=insecure; else mode=ssl; fi
            check "$run: title of $from's lonc child for $to shows ($mode)" has_title "$from" lonc "$to" "$mode"
            check "$run: title of $to's lond child for $from shows ($mode)" has_title "$to" lond "$from" "$mode"
        done
    done
    check "$run: lonc parent title of demo1" bash -c '[ "$(tr "\0" " " </proc/$1/cmdline | sed "s/ *$//")" = "lonc: parent demo1 links: 2" ]' _ "$(pid_of demo1 lonc)"
    check "$run: lond parent title of demo1" bash -c '[ "$(tr "\0" " " </proc/$1/cmdline | sed "s/ *$//")" = "lond: parent demo1 listening $2.11:5663 peers: 2" ]' _ "$(pid_of demo1 lond)" "$DEMO_NET"
    # A child's status file follows its title within a second (docs/status-and-metrics.md):
    # ask again until every row is there, for at most 5 s; a check that still fails shows
    # the last answer.
    local deadline=$((SECONDS + 5))
    while :; do
        "$root/scripts/loncontrol" status --config "$DEMO_DIR/demo1/lonlink.yaml" >"$t/status.$run" 2>&1 || true
        if grep -qE '^out +demo2 +linked +ssl ' "$t/status.$run" &&
            grep -qE '^out +demo3 +linked +insecure ' "$t/status.$run" &&
            grep -qE '^in +demo2 +[a-z]+ +ssl ' "$t/status.$run" &&
            grep -qE '^in +demo3 +[a-z]+ +insecure ' "$t/status.$run"; then
            break
        fi
        if [ $SECONDS -ge $deadline ]; then
            sed 's/^/# status: /' "$t/status.$run"
            break
        fi
        sleep 0.2
    done
    check "$run: loncontrol status shows demo2 ssl" grep -qE '^out +demo2 +linked +ssl ' "$t/status.$run"
    check "$run: loncontrol status shows demo3 insecure" grep -qE '^out +demo3 +linked +insecure ' "$t/status.$run"
    check "$run: loncontrol status shows demo1's lond children" bash -c \
        'grep -qE "^in +demo2 +[a-z]+ +ssl " "$1" && grep -qE "^in +demo3 +[a-z]+ +insecure " "$1"' _ "$t/status.$run"
}

check "demo --help names the certificate workflow" bash -c '"$1" --help | grep -q request_ssl_key.sh' _ "$root/scripts/demo"

# --- first run: CA, certificates for demo1 and demo2, requests, modes
rc=0
"$root/scripts/demo" >"$t/run1.out" 2>&1 || rc=$?
remember_pids
cp "$t/run1.out" "$t/last.log"
if [ "$rc" -eq 0 ]; then ok "first run exits 0"; else nok "first run exits 0 (status $rc)"; fi
check "first run: made the CA" test -f "$DEMO_DIR/ca/ca.pem"
check "first run: demo1 and demo2 hold certificates, demo3 none" bash -c \
    'test -f "$1/demo1/certs/lonhostcert.pem" && test -f "$1/demo2/certs/lonhostcert.pem" && ! test -e "$1/demo3/certs/lonhostcert.pem"' _ "$DEMO_DIR"
check "first run: no FAILED line" bash -c '! grep -n FAILED "$1"' _ "$t/run1.out"
check "first run: the raw client's replies are shown" grep -q 'reply: raw%20client' "$t/run1.out"
check "first run: says how to stop it" grep -q 'demo --stop' "$t/run1.out"
check_links run1
cp "$DEMO_DIR/ca/ca.pem" "$t/ca1.pem" 2>/dev/null || true
first_pids=("${seen_pids[@]}")

# --- second run: works the same, keeps the CA, replaces every process of the first run
rc=0
"$root/scripts/demo" >"$t/run2.out" 2>&1 || rc=$?
remember_pids
cp "$t/run2.out" "$t/last.log"
if [ "$rc" -eq 0 ]; then ok "second run exits 0"; else nok "second run exits 0 (status $rc)"; fi
check "second run: the CA was kept" cmp -s "$t/ca1.pem" "$DEMO_DIR/ca/ca.pem"
check "second run: no FAILED line" bash -c '! grep -n FAILED "$1"' _ "$t/run2.out"
check_links run2
check "second run: no process of the first run is left" none_left "${first_pids[@]}"

# --- --stop: every process the demo started is gone (within its 10 s stop deadline each)
check "demo --stop exits 0" "$root/scripts/demo" --stop
check "after --stop no demo process is left" none_left "${seen_pids[@]}"

tap_summary
