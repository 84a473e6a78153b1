#!/usr/bin/env bash
# A real install (issue 10 §1): `meson install --destdir` into a staging root under $TMPDIR,
# then from there: the layout; every installed program and script answering --help and
# --version (status 0, the project version); the man pages (mandoc -T lint, else groff);
# the systemd units (systemd-analyze verify, skipped when absent); sd_notify readiness,
# reload and stop (a notify socket of our own); loncontrol with and without systemd (a fake
# systemctl that records its arguments); and the installed lond + lonc + lonreply linking
# two hosts on 127.201.250.1 and .2 (outside 127.100-199.x.y, which the integration harness
# takes block by block, and 127.0.x.y, the demo's) with a `ping`.
# Env: BUILD_DIR (the meson build folder to install, default build of this checkout; it is
# built first if stale). Needs python3 (meson introspect, the notify socket).
# Prints "ok - ..." / "not ok - ..." / "ok - ... # SKIP ..." per check and
# "N passed, M failed"; exit 1 on any failure.
set -euo pipefail

if [ "${1:-}" = "--help" ]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

root=$(cd -- "$(dirname -- "$(readlink -f -- "$0")")/../.." && pwd)
build=${BUILD_DIR:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
t=$(mktemp -d "${TMPDIR:-/tmp}/lonlink-install.XXXXXX")
pids=()
cleanup() {
    stop_pids "${pids[@]}"
    rm -rf -- "$t"
}
trap cleanup EXIT
unset LONLINK_CONFIG LONLINK_BIN_DIR NOTIFY_SOCKET
exec </dev/null

. "$(dirname -- "$0")/lib/tap.sh"
skip() { echo "ok - $1 # SKIP $2"; passed=$((passed + 1)); }

# wait_for SECONDS CMD... — run CMD until it succeeds, at most SECONDS.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

# ---- 1. install ------------------------------------------------------------------------
stage=$t/root
check "meson install --destdir into a staging root" \
    meson install -C "$build" --destdir "$stage" --quiet
opt() {
    meson introspect "$build" --buildoptions |
        python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
prefix=$(opt prefix)
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
sbindir=$(abs "$(opt sbindir)")
bindir=$(abs "$(opt bindir)")
sysconfdir=$(abs "$(opt sysconfdir)")
mandir=$(abs "$(opt mandir)")
libexecdir=$(abs "$(opt libexecdir)")
version=$(meson introspect "$build" --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
S=$stage

# ---- 2. layout ---------------------------------------------------------------------------
programs=("$S$sbindir/lond" "$S$sbindir/lonc" "$S$bindir/lonreply" "$S$sbindir/loncontrol"
    "$S$bindir/request_ssl_key.sh" "$S$bindir/sign-response" "$S$bindir/make-cluster-ca"
    "$S$bindir/revoke-host")
for p in "${programs[@]}"; do
    check "installed and executable: ${p#"$S"}" test -f "$p" -a -x "$p"
done
data=("$S$libexecdir/lonlink/lonconfig.sh" "$S$sysconfdir/lonlink/lonlink.yaml"
    "$S$sysconfdir/lonlink/hosts.yaml" "$S$prefix/lib/systemd/system/lond.service"
    "$S$prefix/lib/systemd/system/lonc.service" "$S$prefix/lib/sysusers.d/lonlink.conf"
    "$S$prefix/lib/tmpfiles.d/lonlink.conf" "$S$sysconfdir/logrotate.d/lonlink")
mans=(man8/lond.8 man8/lonc.8 man8/loncontrol.8 man1/lonreply.1 man1/request_ssl_key.sh.1
    man1/sign-response.1 man1/make-cluster-ca.1 man1/revoke-host.1)
for m in "${mans[@]}"; do data+=("$S$mandir/$m"); done
for f in "${data[@]}"; do
    check "installed: ${f#"$S"}" test -f "$f" -a -s "$f"
done
check "no install-time placeholder is left in the installed scripts and units" \
    bash -c '! grep -n "@[A-Z_]*@" "$@"' _ "${programs[@]:3}" "$S$libexecdir/lonlink/lonconfig.sh" \
    "$S$prefix/lib/systemd/system/lond.service" "$S$prefix/lib/systemd/system/lonc.service"

check "logrotate works in /var/log/lonlink as the daemons' user (su), never as root" bash -c '
    user=$(awk "\$1 == \"u\" { print \$2 }" "$1") &&
    [ -n "$user" ] && grep -Eq "^[[:space:]]*su $user $user\$" "$2"' _ \
    "$S$prefix/lib/sysusers.d/lonlink.conf" "$S$sysconfdir/logrotate.d/lonlink"

echo "# edited by the admin" >>"$S$sysconfdir/lonlink/lonlink.yaml"
check "a reinstall keeps an existing config and puts the new example beside it (.dist)" bash -c '
    meson install -C "$1" --destdir "$2" --quiet --no-rebuild &&
    tail -n 1 "$3/lonlink.yaml" | grep -qx "# edited by the admin" &&
    test -f "$3/lonlink.yaml.dist" && test -f "$3/hosts.yaml.dist" &&
    ! grep -q "edited" "$3/lonlink.yaml.dist"' _ "$build" "$stage" "$S$sysconfdir/lonlink"

# ---- 3. --help and --version of everything installed, away from the checkout -------------
clean_env=(env -i "PATH=/usr/local/bin:/usr/bin:/bin" "HOME=$t" "TMPDIR=$t")
for p in "${programs[@]}"; do
    check "${p##*/} --help: status 0 and a usage text" \
        bash -c '"$@" --help | grep -qi usage' _ "${clean_env[@]}" "$p"
    check "${p##*/} --version: status 0 and version $version" \
        bash -c 'out=$("${@:2}" --version) && grep -qF -- "$1" <<<"$out"' _ "$version" "${clean_env[@]}" "$p"
done

# ---- 4. man pages and units ---------------------------------------------------------------
for m in "${mans[@]}"; do
    if command -v mandoc >/dev/null; then
        check "mandoc -T lint $m" bash -c \
            'out=$(mandoc -T lint -W warning "$1" 2>&1); [ -z "$out" ] || { echo "$out"; exit 1; }' _ "$S$mandir/$m"
    else
        check "groff -man -ww -z $m" bash -c \
            'out=$(groff -man -ww -z "$1" 2>&1); [ -z "$out" ] || { echo "$out"; exit 1; }' _ "$S$mandir/$m"
    fi
done
if command -v systemd-analyze >/dev/null; then
    # A copy whose programs are the staged ones (verify checks that they exist), with the
    # staged man pages on MANPATH (it checks Documentation=man:... too).
    mkdir -p "$t/verify"
    for u in lond lonc; do
        sed "s#=$sbindir/#=$S$sbindir/#" "$S$prefix/lib/systemd/system/$u.service" >"$t/verify/$u.service"
        check "systemd-analyze verify $u.service" bash -c \
            'out=$(MANPATH="$1" systemd-analyze verify "$2" 2>&1); echo "$out"; ! grep -q . <<<"$out"' \
            _ "$S$mandir" "$t/verify/$u.service"
    done
else
    skip "systemd-analyze verify lond.service and lonc.service" "no systemd-analyze"
fi
unit=$S$prefix/lib/systemd/system/lond.service
check "lond.service: Type=notify, NotifyAccess=main, Restart=on-failure, hardening (capabilities of the user: drop only), HUP reload" \
    bash -c 'for l in "Type=notify" "NotifyAccess=main" "Restart=on-failure" "NoNewPrivileges=yes" \
        "ProtectSystem=strict" "PrivateTmp=yes" "ProtectHome=yes" "ExecReload=/bin/kill -HUP \$MAINPID"; do
        grep -qxF "$l" "$1" || { echo "missing: $l"; exit 1; }; done
        grep -qx "CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_CHOWN CAP_FOWNER CAP_DAC_READ_SEARCH" "$1" &&
        grep -qx "ReadWritePaths=/run/lonlink /var/lib/lonlink /var/log/lonlink /var/spool/lonlink" "$1" &&
        grep -q "^ExecStart=$2/lond --foreground" "$1"' _ "$unit" "$sbindir"

# ---- 5. the example config -------------------------------------------------------------------
excfg=$S$sysconfdir/lonlink/lonlink.yaml
# The example runs as the lonlink system user (sysusers.d makes it on a real install); this
# machine may not have that user, so the paths are read from a copy naming nobody.
check "example config: user: lonlink" grep -qx 'user: lonlink' "$excfg"
sed 's/^user: lonlink$/user: nobody/' "$excfg" >"$t/example-nobody.yaml"
cp "$S$sysconfdir/lonlink/hosts.yaml" "$t/hosts.yaml"
check "example config: lond loads it; state, run, log and spool under /var and /run" bash -c '
    [ "$("$1" --config "$2" --print paths.state_dir)" = /var/lib/lonlink ] &&
    [ "$("$1" --config "$2" --print paths.run_dir)" = /run/lonlink ] &&
    [ "$("$1" --config "$2" --print paths.log_dir)" = /var/log/lonlink ] &&
    [ "$("$1" --config "$2" --print paths.spool_dir)" = /var/spool/lonlink ]' _ "$S$sbindir/lond" "$t/example-nobody.yaml"
if getent passwd lonlink >/dev/null; then
    check "example config: lond runs it as lonlink" bash -c '[ "$("$1" --config "$2" --print user)" = lonlink ]' _ "$S$sbindir/lond" "$excfg"
else
    check "example config on a machine without the lonlink user: an error naming file, line, key and useradd" bash -c '
        out=$("$1" --config "$2" --print user 2>&1) && exit 1
        grep -q "lonlink.yaml:[0-9]" <<<"$out" && grep -q "user" <<<"$out" && grep -q useradd <<<"$out"' _ "$S$sbindir/lond" "$excfg"
fi

# ---- 6. two hosts on loopback, from the staging root --------------------------------------
# One run at a time holds 127.201.250.x (another checkout's scripts/test may run this too).
exec 8>/tmp/lonlink-test-install-net.lock
flock -w 300 8 || { echo "not ok - 127.201.250.x is held by another run for 300 s"; failed=$((failed + 1)); }
mkdir -p "$t/ia1" "$t/ia2" "$t/fakebin" "$t/systemd-running"
cat >"$t/hosts.yaml" <<'EOF'
hosts:
  - { id: ia1, address: 127.201.250.1, port: 5663 }
  - { id: ia2, address: 127.201.250.2, port: 5663 }
EOF
for h in ia1 ia2; do
    cat >"$t/$h/lonlink.yaml" <<EOF
host_id: $h
hosts_file: ../hosts.yaml
listen: { address: 127.201.250.${h#ia}, port: 5663 }
socket_group: null
lonc: { backoff_initial: 100ms, backoff_max: 1s }
EOF
done
# A fake systemctl: records its arguments; `is-enabled` as $FAKE_ENABLED says; `show` gives
# the units' LONLINK_CONFIG ($FAKE_UNIT_CONFIG); `reload` does what ExecReload does (HUP).
cat >"$t/fakebin/systemctl" <<'EOF'
#!/bin/bash
echo "$*" >>"$FAKE_LOG"
case "$1" in
    is-enabled) [ "${FAKE_ENABLED:-yes}" = yes ] && { [ "${2:-}" = --quiet ] || echo enabled; exit 0; }
        [ "${2:-}" = --quiet ] || echo disabled; exit 1 ;;
    show) echo "LONLINK_CONFIG=$FAKE_UNIT_CONFIG" ;;
    reload) shift; for u in "$@"; do kill -HUP "$(cat "$FAKE_RUN_DIR/${u%.service}.pid")"; done ;;
esac
exit 0
EOF
chmod +x "$t/fakebin/systemctl"
export FAKE_LOG=$t/systemctl.log FAKE_UNIT_CONFIG=$t/ia1/lonlink.yaml FAKE_RUN_DIR=$t/ia1/run
: >"$FAKE_LOG"
ctl=("${clean_env[@]}" "PATH=$t/fakebin:/usr/bin:/bin" "FAKE_LOG=$FAKE_LOG"
    "FAKE_UNIT_CONFIG=$FAKE_UNIT_CONFIG" "FAKE_RUN_DIR=$FAKE_RUN_DIR")
loncontrol=$S$sbindir/loncontrol

# ia2: started by the installed loncontrol as today (systemd is not running: no marker folder).
check "loncontrol start without systemd starts the installed daemons itself" \
    "${ctl[@]}" LONCONTROL_SYSTEMD_DIR="$t/no-such-dir" "$loncontrol" --config "$t/ia2/lonlink.yaml" start
check "... and never asks systemctl" test ! -s "$FAKE_LOG"
for d in lond lonc; do
    if p=$(cat "$t/ia2/run/$d.pid" 2>/dev/null); then pids+=("$p"); fi
done

# ia1: both parents in the foreground, as the units run them, each with a notify socket.
notify_listen() { # SOCKET LOG: every datagram on SOCKET becomes one line of LOG
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
with open(sys.argv[2], "a") as log:
    while True:
        try:
            m = s.recv(4096)
        except socket.timeout:
            break
        log.write(m.decode(errors="replace").replace("\n", " ") + "\n")
        log.flush()
' "$1" "$2" &
    pids+=($!)
    wait_for 10 test -S "$1"
}
for d in lond lonc; do
    : >"$t/$d.notify.log"
    notify_listen "$t/$d.notify" "$t/$d.notify.log"
    "${clean_env[@]}" "NOTIFY_SOCKET=$t/$d.notify" \
        "$S$sbindir/$d" --foreground --config "$t/ia1/lonlink.yaml" >"$t/$d.out" 2>&1 &
    pids+=($!)
    if [ "$d" = lond ]; then lond_pid=$!; else lonc_pid=$!; fi
done
notified() { grep -q "$2" "$t/$1.notify.log"; }
# READY=1 once bound: the listening socket and the peer socket are there when it arrives.
check "lond --foreground tells systemd READY=1 (sd_notify), once it listens" bash -c \
    "$(declare -f wait_for notified); t=\$1; wait_for 20 notified lond READY=1 && (exec 3<>/dev/tcp/127.201.250.1/5663)" _ "$t"
check "lonc --foreground tells systemd READY=1 (sd_notify), once its sockets are bound" bash -c \
    "$(declare -f wait_for notified); t=\$1; wait_for 20 notified lonc READY=1 && test -S \$t/ia1/sockets/ia2" _ "$t"
check "the installed lonreply gets a ping reply from ia2 through the installed lonc and lond" \
    bash -c '[ "$("${@:2}" --config "$1/ia1/lonlink.yaml" ia2 ping)" = ia2 ]' _ "$t" "${clean_env[@]}" "$S$bindir/lonreply"

# loncontrol with systemd: running (marker), units enabled, the units' config is ours.
sysd=("${ctl[@]}" "LONCONTROL_SYSTEMD_DIR=$t/systemd-running")
check "loncontrol reload with systemd: systemctl reload, and the daemons say it took" \
    "${sysd[@]}" "$loncontrol" --config "$t/ia1/lonlink.yaml" reload
check "... systemctl was asked to reload both units" \
    bash -c 'grep -qx "reload lond.service" "$1" && grep -qx "reload lonc.service" "$1"' _ "$FAKE_LOG"
check "lond: RELOADING=1 then READY=1 around the HUP reload" \
    wait_for 10 bash -c 'grep -A1 RELOADING=1 "$1" | tail -n 1 | grep -q READY=1' _ "$t/lond.notify.log"
check "lonc: RELOADING=1 then READY=1 around the HUP reload" \
    wait_for 10 bash -c 'grep -A1 RELOADING=1 "$1" | tail -n 1 | grep -q READY=1' _ "$t/lonc.notify.log"
for c in start restart; do
    : >"$FAKE_LOG"
    check "loncontrol $c with systemd goes through systemctl $c" \
        "${sysd[@]}" "$loncontrol" --config "$t/ia1/lonlink.yaml" "$c"
    check "... systemctl $c named both units" grep -qE "^$c (lond|lonc)\.service (lond|lonc)\.service$" "$FAKE_LOG"
done
: >"$FAKE_LOG"
check "loncontrol with systemd but the units disabled: as without systemd" \
    "${sysd[@]}" FAKE_ENABLED=no "$loncontrol" --config "$t/ia1/lonlink.yaml" reload
check "... no systemctl reload" bash -c '! grep -q "^reload" "$1"' _ "$FAKE_LOG"
: >"$FAKE_LOG"
check "loncontrol with systemd for another config than the units': as without systemd" \
    "${sysd[@]}" "$loncontrol" --config "$t/ia2/lonlink.yaml" reload
check "... no systemctl reload" bash -c '! grep -q "^reload" "$1"' _ "$FAKE_LOG"

# Stop with systemd: systemctl stop; our fake stops nothing, as if the daemons had been
# started outside systemd, so loncontrol then stops them itself (TERM, by pid).
: >"$FAKE_LOG"
check "loncontrol stop with systemd goes through systemctl stop" \
    "${sysd[@]}" "$loncontrol" --config "$t/ia1/lonlink.yaml" stop
check "... systemctl stop named both units" grep -qE "^stop (lond|lonc)\.service (lond|lonc)\.service$" "$FAKE_LOG"
check "... and a daemon still running after it (not started by systemd) is stopped directly" \
    wait_for 20 bash -c '! kill -0 "$1" && ! kill -0 "$2"' _ "$lond_pid" "$lonc_pid"
check "lond tells systemd STOPPING=1" notified lond 'STOPPING=1'
check "lonc tells systemd STOPPING=1" notified lonc 'STOPPING=1'
check "loncontrol stop (no systemd) stops ia2" \
    "${ctl[@]}" LONCONTROL_SYSTEMD_DIR="$t/no-such-dir" "$loncontrol" --config "$t/ia2/lonlink.yaml" stop

tap_summary
