# shellcheck shell=bash
# lonconfig.sh — read the lonlink YAML configuration from bash (sourced, not run).
#
#   . scripts/lib/lonconfig.sh
#   lonconf_load "$(lonconf_default_path "$opt_config")" || exit 1
#   echo "$LONCONF_HOST_ID $LONCONF_CERT_DIR"
#   lonconf_host_ids "$LONCONF_HOSTS_FILE"
#
#   lonconf_default_path [F]      F if given (--config), else $LONLINK_CONFIG, else /etc/lonlink/lonlink.yaml
#   lonconf_load FILE             sets the LONCONF_* variables (see below); 1 + message on error
#   lonconf_host_ids HOSTS_FILE   prints every host id of a hosts table, in order
#   lonconf_value FILE SECTION KEY  one setting as the daemons load it (SECTION empty: top level)
#   lonconf_await_reload FILE PID BEFORE  a daemon's verdict on the HUP just sent (10 s at most)
#   lonconf_now_ms                the wall clock in milliseconds (for deadlines)
#
# There is one parser: the daemons' own. Every value comes from `lond --config FILE --print
# KEY` (hosts tables: `lond --hosts-file FILE --print hosts`), so a script never acts on a
# reading of the file that differs from what lond and lonc load, and a file the daemons would
# refuse is refused here too, with their message. lond is looked for in $LONLINK_BIN_DIR
# (holding lond, or lond/lond), else in the build/ folder of the checkout this file is in,
# else on PATH (and /usr/local/sbin, /usr/sbin); without it these functions fail and say so.
#
# sign-response copies this file verbatim into every <id>.response.sh (which must be
# self-contained), so keep it free of dependencies on other files and of `set` changes.

# lonconf_default_path [FILE] — the config path to use: FILE (from --config) if not empty,
# else $LONLINK_CONFIG, else /etc/lonlink/lonlink.yaml.
lonconf_default_path() {
    if [ -n "${1:-}" ]; then
        printf '%s\n' "$1"
    elif [ -n "${LONLINK_CONFIG:-}" ]; then
        printf '%s\n' "$LONLINK_CONFIG"
    else
        printf '%s\n' /etc/lonlink/lonlink.yaml
    fi
}

# lonconf_bin — the lond program that parses configs for us; 1 with a message when none.
lonconf_bin() {
    local c scripts lib
    lib=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" 2>/dev/null && pwd) || lib=
    scripts=${lib%/*}
    # Installed (meson fills in the placeholders; in a checkout they stay and are skipped):
    # sbin relative to this file's folder, libexec/lonlink, then where meson put lond.
    for c in ${LONLINK_BIN_DIR:+"$LONLINK_BIN_DIR/lond" "$LONLINK_BIN_DIR/lond/lond"} \
        ${lib:+"$lib/@LONLINK_LIB_SBIN_REL@/lond"} '@LONLINK_SBINDIR@/lond' \
        ${scripts:+"$scripts/../build/daemons/lond/lond"}; do
        case $c in *@LONLINK_*) continue ;; esac
        if [ -f "$c" ] && [ -x "$c" ]; then
            printf '%s\n' "$c"
            return 0
        fi
    done
    for c in lond /usr/local/sbin/lond /usr/sbin/lond; do
        if command -v "$c" >/dev/null 2>&1; then
            command -v "$c"
            return 0
        fi
    done
    echo "lonlink: cannot find the lond program, which reads the configuration for the scripts" \
        "(set LONLINK_BIN_DIR to the folder holding it, or put it on PATH)" >&2
    return 1
}

# lonconf_value FILE SECTION KEY — the value of SECTION.KEY (SECTION empty: top-level KEY) as
# lond loads it (defaults filled in, paths absolute; empty when null); 1 + message on error.
lonconf_value() {
    local want="$3" bin
    [ -n "$2" ] && want="$2.$3"
    bin=$(lonconf_bin) || return 1
    "$bin" --config "$1" --print "$want" </dev/null
}

# lonconf_host_ids HOSTS_FILE — print the id of every host in a hosts table, one per line, in order.
lonconf_host_ids() {
    local f="${1:-}" bin ids
    if [ -z "$f" ] || [ ! -f "$f" ] || [ ! -r "$f" ]; then
        echo "lonlink: hosts file '${f}' not found or not readable" >&2
        return 1
    fi
    bin=$(lonconf_bin) || return 1
    ids=$("$bin" --hosts-file "$f" --print hosts </dev/null) || return 1
    [ -z "$ids" ] || printf '%s\n' "$ids" | tr ' ' '\n'
}

# lonconf_load FILE — read a lonlink config (as lond loads and validates it) and set (and export):
#   LONCONF_FILE (absolute) LONCONF_DIR LONCONF_HOST_ID LONCONF_HOSTS_FILE
#   LONCONF_CERT_DIR LONCONF_RUN_DIR LONCONF_STATE_DIR LONCONF_SOCKET_DIR LONCONF_LOG_DIR
#   LONCONF_SPOOL_DIR LONCONF_KEY_PASSPHRASE_FILE (empty when null or absent)
# All paths absolute. Returns 1 with a message on stderr when the file is missing or
# unreadable, lond refuses it (its own message: "<file>:<line>: <key>: <problem>"), or lond
# cannot be found.
lonconf_load() {
    local f="${1:-}" dir bin out
    if [ -z "$f" ]; then
        echo "lonlink: no config file given" >&2
        return 1
    fi
    if [ ! -f "$f" ] || [ ! -r "$f" ]; then
        echo "lonlink: config file $f not found or not readable (name another with --config FILE or the LONLINK_CONFIG variable)" >&2
        return 1
    fi
    dir=$(cd "$(dirname -- "$f")" && pwd -P) || return 1
    bin=$(lonconf_bin) || return 1
    out=$("$bin" --config "$dir/$(basename -- "$f")" --print host_id --print hosts_file \
        --print paths.cert_dir --print paths.run_dir --print paths.state_dir \
        --print paths.socket_dir --print paths.log_dir --print paths.spool_dir \
        --print tls.key_passphrase_file </dev/null && echo .) || return 1
    # The "." keeps the last line when its value is empty ($(...) drops trailing newlines).
    local -a v
    mapfile -t v < <(printf '%s' "${out%.}")
    if [ ${#v[@]} -ne 9 ]; then
        echo "lonlink: $bin --print gave ${#v[@]} lines for 9 keys (a path with a newline?)" >&2
        return 1
    fi
    LONCONF_FILE="$dir/$(basename -- "$f")"
    LONCONF_DIR="$dir"
    LONCONF_HOST_ID=${v[0]}
    LONCONF_HOSTS_FILE=${v[1]}
    LONCONF_CERT_DIR=${v[2]}
    LONCONF_RUN_DIR=${v[3]}
    LONCONF_STATE_DIR=${v[4]}
    LONCONF_SOCKET_DIR=${v[5]}
    LONCONF_LOG_DIR=${v[6]}
    LONCONF_SPOOL_DIR=${v[7]}
    LONCONF_KEY_PASSPHRASE_FILE=${v[8]}
    export LONCONF_FILE LONCONF_DIR LONCONF_HOST_ID LONCONF_HOSTS_FILE LONCONF_CERT_DIR \
        LONCONF_RUN_DIR LONCONF_STATE_DIR LONCONF_SOCKET_DIR LONCONF_LOG_DIR LONCONF_SPOOL_DIR \
        LONCONF_KEY_PASSPHRASE_FILE
    return 0
}

# lonconf_await_reload FILE PID BEFORE — after a HUP to the daemon parent PID, waits (10 s at
# most) for its verdict in FILE (<run_dir>/<daemon>.reload, whose first line it rewrites after
# every HUP: "<pid> <n> reloaded <file>" or "<pid> <n> refused: <reason>"): a first line that
# differs from BEFORE (read before the HUP) and names PID. Prints the verdict without pid and
# count ("reloaded <file>" or "refused: <reason>"); 1 when none came in time.
lonconf_await_reload() {
    local file=$1 pid=$2 before=$3 now deadline
    deadline=$(($(lonconf_now_ms) + 10000))
    while :; do
        now=$(head -n 1 -- "$file" 2>/dev/null || true)
        if [ -n "$now" ] && [ "$now" != "$before" ] && [ "${now%% *}" = "$pid" ]; then
            now=${now#* }
            printf '%s\n' "${now#* }"
            return 0
        fi
        [ "$(lonconf_now_ms)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# lonconf_now_ms — the wall clock in milliseconds (bash's EPOCHREALTIME, no process started).
lonconf_now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((10#$t / 1000))
}
