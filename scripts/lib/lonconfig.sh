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
#   lonconf_value FILE SECTION KEY  one raw setting (SECTION empty: top level)
#
# Only the subset of YAML that lonlink's config and hosts files use is understood: top-level
# scalars, one level of nested maps in block style or flow style ({ a: b, c: d }, which may span
# several lines), comments, single/double quotes, null/~, CRLF line ends. Relative paths are
# resolved against the config file's folder, as lonc/lond do. Needs only bash and awk.
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

# Common awk functions: comment stripping, trimming, unquoting, flow-collection splitting.
# (Written for POSIX awk: Debian's default mawk as well as gawk and busybox awk.)
_LONCONF_AWK_LIB='
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
# A quote opens a quoted scalar only at the start of a token.
function opens_quote(prev) { return prev == "" || prev ~ /[ \t{\[,:]/ }
function strip_comment(s,    i, c, q, out, prev) {
    q = ""; out = ""; prev = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (q != "") {
            if (q == "\"" && c == "\\") { out = out c substr(s, i + 1, 1); i++; prev = "x"; continue }
            if (c == q) q = ""
            out = out c; prev = c; continue
        }
        if ((c == "\"" || c == SQ) && opens_quote(prev)) { q = c; out = out c; prev = c; continue }
        if (c == "#" && (prev == "" || prev == " " || prev == "\t")) break
        out = out c; prev = c
    }
    return out
}
# Net count of open { and [ outside quotes.
function balance(s,    i, c, q, n, prev) {
    q = ""; n = 0; prev = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (q != "") {
            if (q == "\"" && c == "\\") { i++; continue }
            if (c == q) q = ""
            prev = c; continue
        }
        if ((c == "\"" || c == SQ) && opens_quote(prev)) q = c
        else if (c == "{" || c == "[") n++
        else if (c == "}" || c == "]") n--
        prev = c
    }
    return n
}
# Scalar value: unquote; unquoted null/~/empty become "".
function scalar(v,    f, l) {
    v = trim(v); f = substr(v, 1, 1); l = substr(v, length(v), 1)
    if (length(v) >= 2 && f == "\"" && l == "\"") {
        v = substr(v, 2, length(v) - 2); gsub(/\\"/, "\"", v); gsub(/\\\\/, "\\", v); return v
    }
    if (length(v) >= 2 && f == SQ && l == SQ) {
        v = substr(v, 2, length(v) - 2); gsub(SQ SQ, SQ, v); return v
    }
    if (v == "null" || v == "Null" || v == "NULL" || v == "~") return ""
    return v
}
# Split "key: value". Sets KEY (unquoted) and VAL (raw, trimmed); returns 0 when not a mapping.
function split_kv(s,    k, ok) {
    s = trim(s); ok = 0
    if (match(s, /^[A-Za-z0-9_.\/-]+[ \t]*:([ \t]|$)/)) ok = 1
    else if (match(s, /^"[^"]*"[ \t]*:([ \t]|$)/)) ok = 1
    else if (substr(s, 1, 1) == SQ && match(s, "^" SQ "[^" SQ "]*" SQ "[ \t]*:([ \t]|$)")) ok = 1
    if (!ok) return 0
    k = substr(s, 1, RLENGTH); sub(/[ \t]*:[ \t]*$/, "", k)
    KEY = scalar(k); VAL = trim(substr(s, RLENGTH + 1))
    return 1
}
# Split the inside of a flow collection "{...}" or "[...]" at top-level commas into ITEMS[1..n].
function split_flow(s,    inner, i, c, q, depth, item, n, prev) {
    s = trim(s); inner = substr(s, 2, length(s) - 2)
    for (i in ITEMS) delete ITEMS[i]
    n = 0; item = ""; q = ""; depth = 0; prev = ""
    for (i = 1; i <= length(inner); i++) {
        c = substr(inner, i, 1)
        if (q != "") {
            if (q == "\"" && c == "\\") { item = item c substr(inner, i + 1, 1); i++; continue }
            if (c == q) q = ""
            item = item c; prev = c; continue
        }
        if ((c == "\"" || c == SQ) && opens_quote(prev)) q = c
        else if (c == "{" || c == "[") depth++
        else if (c == "}" || c == "]") depth--
        else if (c == "," && depth == 0) {
            if (trim(item) != "") ITEMS[++n] = trim(item)
            item = ""; prev = c; continue
        }
        item = item c; prev = c
    }
    if (trim(item) != "") ITEMS[++n] = trim(item)
    return n
}
'

# _lonconf_flatten FILE — print "key<TAB>value" for every top-level scalar and
# "section.key<TAB>value" for every key of a top-level map (block or flow style). Scalars are
# unquoted (null -> empty); flow lists are printed raw. Deeper levels are ignored.
_lonconf_flatten() {
    awk -v SQ="'" "$_LONCONF_AWK_LIB"'
    function emit(k, v,    n, j, keys, vals) {
        if (v ~ /^\{/) {
            n = split_flow(v)
            for (j = 1; j <= n; j++) if (split_kv(ITEMS[j])) { keys[j] = KEY; vals[j] = VAL } else keys[j] = ""
            for (j = 1; j <= n; j++) if (keys[j] != "") {
                if (vals[j] ~ /^[\{\[]/) print k "." keys[j] "\t" vals[j]
                else print k "." keys[j] "\t" scalar(vals[j])
            }
        } else if (v ~ /^\[/) {
            print k "\t" trim(v)
        } else {
            print k "\t" scalar(v)
        }
    }
    BEGIN { section = ""; child = -1; pending = "" }
    {
        sub(/\r$/, "")
        line = strip_comment($0)
        if (pending != "") {
            pending = pending " " trim(line)
            if (balance(pending) <= 0) { emit(pending_key, pending); pending = "" }
            next
        }
        if (line ~ /^[ \t]*$/ || line ~ /^(---|\.\.\.)([ \t]|$)/) next
        match(line, /^[ \t]*/); ind = RLENGTH
        if (ind == 0) {
            section = ""; child = -1
            if (!split_kv(line)) next
            if (VAL == "") { section = KEY; next }
            k = KEY
        } else {
            if (section == "") next
            if (child < 0) child = ind
            if (ind != child) next
            if (!split_kv(line)) next
            k = section "." KEY
        }
        if (VAL ~ /^[\{\[]/ && balance(VAL) > 0) { pending = VAL; pending_key = k; next }
        emit(k, VAL)
    }
    END { if (pending != "") emit(pending_key, pending) }
    ' "$1"
}

# lonconf_value FILE SECTION KEY — the value of SECTION.KEY (SECTION empty: top-level KEY),
# unquoted; empty when absent or null.
lonconf_value() {
    local want="$3"
    [ -n "$2" ] && want="$2.$3"
    _lonconf_flatten "$1" | awk -F '\t' -v k="$want" '$1 == k { v = substr($0, length($1) + 2) } END { print v }'
}

# lonconf_path DIR VALUE DEFAULT — VALUE (or DEFAULT when VALUE is empty) made absolute against DIR.
lonconf_path() {
    local v="${2:-$3}"
    case "$v" in
        "") printf '\n' ;;
        /*) printf '%s\n' "$v" ;;
        ./*) printf '%s/%s\n' "$1" "${v#./}" ;;
        *) printf '%s/%s\n' "$1" "$v" ;;
    esac
}

# lonconf_host_ids HOSTS_FILE — print the id of every host in a hosts.yaml, one per line, in order.
# Understands "hosts:" as a block list of flow maps ("- { id: a, address: ... }", possibly over
# several lines), of block maps ("- id: a" / "  address: ..."), or a flow list of flow maps.
# A file named *.tab is a LON-CAPA hosts.tab (lonHostID:domain:role:name...; the daemons
# check it fully): the first field of every line that is not blank or a # comment.
lonconf_host_ids() {
    local f="${1:-}"
    if [ -z "$f" ] || [ ! -f "$f" ] || [ ! -r "$f" ]; then
        echo "lonlink: hosts file '${f}' not found or not readable" >&2
        return 1
    fi
    if [[ $f == *.tab ]]; then
        awk '{ sub(/\r$/, ""); sub(/^[ \t]+/, "") } /^(#|[ \t]*$)/ { next } { split($0, f, ":"); print f[1] }' "$f"
        return 0
    fi
    awk -v SQ="'" "$_LONCONF_AWK_LIB"'
    function map_id(v,    m, j) {              # v: one flow map
        if (trim(v) !~ /^\{/) return
        m = split_flow(v)
        for (j = 1; j <= m; j++) if (split_kv(ITEMS[j]) && KEY == "id") { print scalar(VAL); return }
    }
    function item_ids(v,    n, j, els) {       # v: a flow map, or a flow list of flow maps
        v = trim(v)
        if (v ~ /^\[/) {
            n = split_flow(v); for (j = 1; j <= n; j++) els[j] = ITEMS[j]
            for (j = 1; j <= n; j++) map_id(els[j])
        } else {
            map_id(v)
        }
    }
    BEGIN { inhosts = 0; pending = ""; keyind = -1 }
    {
        sub(/\r$/, "")
        line = strip_comment($0)
        if (pending != "") {
            pending = pending " " trim(line)
            if (balance(pending) <= 0) { item_ids(pending); pending = "" }
            next
        }
        if (line ~ /^[ \t]*$/ || line ~ /^(---|\.\.\.)([ \t]|$)/) next
        match(line, /^[ \t]*/); ind = RLENGTH
        if (ind == 0 && line !~ /^-/) {
            inhosts = 0; keyind = -1
            if (split_kv(line) && KEY == "hosts") {
                inhosts = 1
                if (VAL ~ /^\[/) { if (balance(VAL) > 0) pending = VAL; else item_ids(VAL) }
            }
            next
        }
        if (!inhosts) next
        body = trim(line)
        if (body ~ /^-([ \t]|$)/) {                  # a new list element
            rest = body; sub(/^-[ \t]*/, "", rest)
            keyind = (rest == "") ? -2 : ind + (length(body) - length(rest))
            if (rest ~ /^\{/) {
                keyind = -1
                if (balance(rest) > 0) pending = rest; else item_ids(rest)
            } else if (split_kv(rest) && KEY == "id") {
                print scalar(VAL)
            }
            next
        }
        if (keyind == -2) keyind = ind                # "-" alone: keys start on the next line
        if (ind == keyind && split_kv(body) && KEY == "id") print scalar(VAL)
    }
    END { if (pending != "") item_ids(pending) }
    ' "$f"
}

# lonconf_load FILE — read a lonlink config and set (and export):
#   LONCONF_FILE (absolute) LONCONF_DIR LONCONF_HOST_ID LONCONF_HOSTS_FILE (default hosts.yaml)
#   LONCONF_CERT_DIR LONCONF_RUN_DIR LONCONF_STATE_DIR LONCONF_SOCKET_DIR LONCONF_LOG_DIR
#   LONCONF_SPOOL_DIR (defaults certs run state sockets log spool)
#   LONCONF_KEY_PASSPHRASE_FILE (empty when null or absent)
# All paths absolute. Returns 1 with a one-line message on stderr when the file is missing or
# unreadable, or host_id is missing or not a valid host id.
lonconf_load() {
    local f="${1:-}" dir flat key val
    if [ -z "$f" ]; then
        echo "lonlink: no config file given" >&2
        return 1
    fi
    if [ ! -f "$f" ] || [ ! -r "$f" ]; then
        echo "lonlink: config file $f not found or not readable" >&2
        return 1
    fi
    dir=$(cd "$(dirname -- "$f")" && pwd -P) || return 1
    LONCONF_FILE="$dir/$(basename -- "$f")"
    LONCONF_DIR="$dir"
    LONCONF_HOST_ID=""
    LONCONF_HOSTS_FILE="hosts.yaml"
    LONCONF_CERT_DIR="certs"
    LONCONF_RUN_DIR="run"
    LONCONF_STATE_DIR="state"
    LONCONF_SOCKET_DIR="sockets"
    LONCONF_LOG_DIR="log"
    LONCONF_SPOOL_DIR="spool"
    LONCONF_KEY_PASSPHRASE_FILE=""
    flat=$(_lonconf_flatten "$LONCONF_FILE") || {
        echo "lonlink: cannot parse config file $LONCONF_FILE" >&2
        return 1
    }
    while IFS=$'\t' read -r key val; do
        [ -n "$val" ] || [ "$key" = tls.key_passphrase_file ] || continue
        case "$key" in
            host_id) LONCONF_HOST_ID="$val" ;;
            hosts_file) LONCONF_HOSTS_FILE="$val" ;;
            paths.cert_dir) LONCONF_CERT_DIR="$val" ;;
            paths.run_dir) LONCONF_RUN_DIR="$val" ;;
            paths.state_dir) LONCONF_STATE_DIR="$val" ;;
            paths.socket_dir) LONCONF_SOCKET_DIR="$val" ;;
            paths.log_dir) LONCONF_LOG_DIR="$val" ;;
            paths.spool_dir) LONCONF_SPOOL_DIR="$val" ;;
            tls.key_passphrase_file) LONCONF_KEY_PASSPHRASE_FILE="$val" ;;
        esac
    done <<<"$flat"
    if [ -z "$LONCONF_HOST_ID" ]; then
        echo "lonlink: $LONCONF_FILE: host_id is missing" >&2
        return 1
    fi
    if ! [[ "$LONCONF_HOST_ID" =~ ^[A-Za-z0-9_-]{1,64}$ ]]; then
        echo "lonlink: $LONCONF_FILE: host_id '$LONCONF_HOST_ID' is not a valid host id (letters, digits, _ and -, at most 64)" >&2
        return 1
    fi
    LONCONF_HOSTS_FILE=$(lonconf_path "$dir" "$LONCONF_HOSTS_FILE" "")
    LONCONF_CERT_DIR=$(lonconf_path "$dir" "$LONCONF_CERT_DIR" "")
    LONCONF_RUN_DIR=$(lonconf_path "$dir" "$LONCONF_RUN_DIR" "")
    LONCONF_STATE_DIR=$(lonconf_path "$dir" "$LONCONF_STATE_DIR" "")
    LONCONF_SOCKET_DIR=$(lonconf_path "$dir" "$LONCONF_SOCKET_DIR" "")
    LONCONF_LOG_DIR=$(lonconf_path "$dir" "$LONCONF_LOG_DIR" "")
    LONCONF_SPOOL_DIR=$(lonconf_path "$dir" "$LONCONF_SPOOL_DIR" "")
    LONCONF_KEY_PASSPHRASE_FILE=$(lonconf_path "$dir" "$LONCONF_KEY_PASSPHRASE_FILE" "")
    export LONCONF_FILE LONCONF_DIR LONCONF_HOST_ID LONCONF_HOSTS_FILE LONCONF_CERT_DIR \
        LONCONF_RUN_DIR LONCONF_STATE_DIR LONCONF_SOCKET_DIR LONCONF_LOG_DIR LONCONF_SPOOL_DIR \
        LONCONF_KEY_PASSPHRASE_FILE
    return 0
}
