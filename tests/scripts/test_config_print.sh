#!/usr/bin/env bash
# One config parser (issue 10 §4): `lond --config F --print KEY` prints a value as loaded and
# validated, and scripts/lib/lonconfig.sh reads the config through it, never through a parse
# of its own that could differ from what the daemons load.
# Env: LONLINK_BIN_DIR (folder holding lond, or lond/lond; default: build/daemons of this
# checkout), LONLINK_SCRIPTS (default: scripts/ of this checkout). Needs bash only.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed"; exit 1 on any failure.
set -euo pipefail

if [ "${1:-}" = "--help" ]; then
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

root=$(cd -- "$(dirname -- "$(readlink -f -- "$0")")/../.." && pwd)
scripts=${LONLINK_SCRIPTS:-$root/scripts}
export LONLINK_BIN_DIR=${LONLINK_BIN_DIR:-$root/build/daemons}
lond=$LONLINK_BIN_DIR/lond
[ -f "$lond" ] || lond=$LONLINK_BIN_DIR/lond/lond
t=$(mktemp -d)
trap 'rm -rf -- "$t"' EXIT
unset LONLINK_CONFIG
exec </dev/null

. "$(dirname -- "$0")/lib/tap.sh"

mkdir -p "$t/etc"
cat >"$t/etc/hosts.yaml" <<'EOF'
hosts:
  - { id: cp1, address: 127.0.0.1, port: 5663 }
  - id: cp2
    address: 127.0.0.2
EOF
# Valid YAML that a line-based reading gets wrong: a value on the line after its key, an
# anchor and its alias.
cat >"$t/etc/lonlink.yaml" <<'EOF'
host_id: cp1
hosts_file: hosts.yaml
paths:
  cert_dir: &certs
    /srv/lonlink certs
  run_dir:
    run-here
  state_dir: state
lonc: { retries: 7, keepalive: 1500ms }
limits: { max_message_bytes: 2MiB }
socket_group: null
EOF
cfg=$t/etc/lonlink.yaml

print_values() {
    [ "$("$lond" --config "$cfg" --print listen.port)" = 5663 ] &&
        [ "$("$lond" --config "$cfg" --print paths.cert_dir)" = "/srv/lonlink certs" ] &&
        [ "$("$lond" --config "$cfg" --print paths.run_dir)" = "$t/etc/run-here" ] &&
        [ "$("$lond" --config "$cfg" --print paths.log_dir)" = "$t/etc/log" ] &&
        [ "$("$lond" --config "$cfg" --print lonc.retries --print lonc.keepalive)" = $'7\n1500ms' ] &&
        [ "$("$lond" --config "$cfg" --print limits.max_message_bytes)" = 2MiB ] &&
        [ "$("$lond" --config "$cfg" --print lond.allow_insecure)" = true ] &&
        [ "$("$lond" --config "$cfg" --print socket_group)" = "" ] &&
        [ "$("$lond" --config "$cfg" --print hosts)" = "cp1 cp2" ]
}
check "lond --print: values as loaded (defaults, absolute paths, units, null, hosts)" print_values

unknown_key() {
    local rc=0
    "$lond" --config "$cfg" --print listen.colour >"$t/out" 2>"$t/err" || rc=$?
    cat "$t/err"
    [ $rc -eq 2 ] && [ ! -s "$t/out" ] && grep -q "no config key 'listen.colour'" "$t/err" &&
        grep -q "listen.port" "$t/err"
}
check "lond --print: an unknown key exits 2 and lists the keys" unknown_key

same_as_daemon() {
    (
        . "$scripts/lib/lonconfig.sh"
        lonconf_load "$cfg"
        echo "cert_dir=$LONCONF_CERT_DIR run_dir=$LONCONF_RUN_DIR"
        [ "$LONCONF_CERT_DIR" = "$("$lond" --config "$cfg" --print paths.cert_dir)" ] &&
            [ "$LONCONF_RUN_DIR" = "$("$lond" --config "$cfg" --print paths.run_dir)" ] &&
            [ "$LONCONF_STATE_DIR" = "$t/etc/state" ] && [ "$LONCONF_HOST_ID" = cp1 ] &&
            [ "$LONCONF_HOSTS_FILE" = "$t/etc/hosts.yaml" ] && [ "$LONCONF_FILE" = "$cfg" ]
    )
}
check "lonconfig.sh: the scripts see the paths the daemons load" same_as_daemon

host_ids() {
    (
        . "$scripts/lib/lonconfig.sh"
        [ "$(lonconf_host_ids "$t/etc/hosts.yaml" | tr '\n' ' ')" = "cp1 cp2 " ] &&
            [ "$(lonconf_value "$cfg" lonc retries)" = 7 ]
    )
}
check "lonconfig.sh: host ids and single values through lond" host_ids

refused_like_daemon() {
    cp "$cfg" "$t/etc/bad.yaml"
    echo "bogus_key: 1" >>"$t/etc/bad.yaml"
    (
        . "$scripts/lib/lonconfig.sh"
        ! lonconf_load "$t/etc/bad.yaml" 2>"$t/err"
    ) && cat "$t/err" && grep -q "bogus_key" "$t/err"
}
check "lonconfig.sh: a config lond refuses is refused, with lond's message" refused_like_daemon

no_binary() {
    mkdir -p "$t/copy/lib"
    cp "$scripts/lib/lonconfig.sh" "$t/copy/lib/"
    (
        export LONLINK_BIN_DIR=$t/nothing-here PATH=/usr/bin:/bin
        . "$t/copy/lib/lonconfig.sh"
        ! lonconf_load "$cfg" 2>"$t/err"
    ) && cat "$t/err" && grep -q "cannot find the lond program" "$t/err"
}
if [ -e /usr/sbin/lond ] || [ -e /usr/local/sbin/lond ] || [ -e /usr/bin/lond ] || [ -e /bin/lond ]; then
    ok "lonconfig.sh: without lond, a clear error (skipped: lond is installed on this machine)"
else
    check "lonconfig.sh: without lond, a clear error and no other parse" no_binary
fi

tap_summary
