# tests/scripts/lib/tap.sh: the check helpers every script test uses. Source it after setting
# $t (the test's temporary folder, where each command's output goes); end the test with
# `tap_summary` (prints "N passed, M failed" and returns non-zero on any failure).

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
nok() {
    echo "not ok - $1"
    failed=$((failed + 1))
    if [ -s "$t/last.log" ]; then sed 's/^/    # /' "$t/last.log" | tail -n 15; fi
}
# check DESCRIPTION CMD...: CMD must succeed (its output goes to $t/last.log).
check() {
    local d=$1; shift
    if "$@" >"$t/last.log" 2>&1; then ok "$d"; else nok "$d"; fi
}
# refuses DESCRIPTION CMD...: CMD must fail (non-zero exit) and say something on stderr.
refuses() {
    local d=$1; shift
    if "$@" >"$t/last.out" 2>"$t/last.log"; then
        nok "$d (it succeeded)"
    elif [ ! -s "$t/last.log" ]; then
        nok "$d (failed without a message)"
    else
        ok "$d ($(head -n1 "$t/last.log"))"
    fi
}
tap_summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
# stop_pids PID...: TERM each process the test started, wait up to 5 s for each, then KILL
# what is left (by pid, never by name). For the test's EXIT trap.
stop_pids() {
    local p
    for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "$@"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
}
