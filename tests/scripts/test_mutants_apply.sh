#!/usr/bin/env bash
# Every mutant of tests/mutants/mutants.txt still applies to this checkout: its file exists
# and holds its text exactly once (`tests/mutants/run --check`; builds nothing). Code moved
# between files would otherwise retire a mutant quietly until someone ran the mutants by hand.
# Needs python3 only. Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed";
# exit 1 on any failure.
set -euo pipefail

if [ "${1:-}" = "--help" ]; then
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

root=$(cd -- "$(dirname -- "$(readlink -f -- "$0")")/../.." && pwd)
run=$root/tests/mutants/run
t=$(mktemp -d)
trap 'rm -rf -- "$t"' EXIT
exec </dev/null

. "$(dirname -- "$0")/lib/tap.sh"

# On failure, the stale ones by name (a tail of the whole listing could leave them out).
if python3 "$run" --check >"$t/all.log" 2>&1; then
    ok "every mutant in tests/mutants/mutants.txt applies (its text once in its file)"
else
    grep -v '^ok - ' "$t/all.log" >"$t/last.log" || true
    nok "every mutant in tests/mutants/mutants.txt applies (its text once in its file)"
fi

# The check itself can fail: a text found twice, one not found, a file that is not there.
cat >"$t/stale.txt" <<'MUTANTS'
name: twice
promise: none (a check of the checker)
file: README.md
find: lonlink
replace: x
tests: unit:[none]

name: gone
promise: none (a check of the checker)
file: README.md
find: a text no README holds 7f3a9c
replace: x
tests: unit:[none]

name: nofile
promise: none (a check of the checker)
file: no/such/file.cpp
find: x
replace: y
tests: unit:[none]
MUTANTS
if python3 "$run" --check --mutants "$t/stale.txt" >"$t/last.log" 2>&1; then
    nok "stale mutants are reported (the check passed them)"
elif [ "$(grep -c '^not ok - mutant ' "$t/last.log")" -eq 3 ] &&
    grep -q '^0 passed, 3 failed$' "$t/last.log"; then
    ok "stale mutants are reported: a text found twice, one not found, a missing file"
else
    nok "stale mutants are reported: a text found twice, one not found, a missing file"
fi

tap_summary
