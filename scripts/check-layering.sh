#!/usr/bin/env bash
# check-layering.sh: fail when a source file includes a header its layer must not use.
#   scripts/check-layering.sh
# Rules (see README.md, "Layout"):
#   proto/    pure: no Asio, OpenSSL, <sys/...>, <unistd.h>, socket/network or fd headers
#   common/   no Asio, no OpenSSL
#   nothing outside daemons/lonc and daemons/lond includes their files (daemons/link,
#   common/, proto/, tests/, bench/, fuzz/ and the other daemon included)
# Prints every offending line; status 0 clean, 1 violations, 2 usage.
set -euo pipefail

case "${1:-}" in
    --help | -h)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    "") ;;
    *)
        echo "check-layering.sh: unknown argument $1 (see --help)" >&2
        exit 2
        ;;
esac

cd "$(dirname "$0")/.."
inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]'
bad=0

# report MESSAGE PATTERN DIR... — grep C++ sources under the folders for PATTERN.
report() {
    local msg=$1 pattern=$2 hits
    shift 2
    local dirs=()
    local d
    for d in "$@"; do
        [ -d "$d" ] && dirs+=("$d")
    done
    [ ${#dirs[@]} -gt 0 ] || return 0
    hits=$(grep -rnE --include='*.hpp' --include='*.cpp' --include='*.h' --include='*.cc' \
        --include='*.ipp' "$pattern" "${dirs[@]}" || true)
    if [ -n "$hits" ]; then
        echo "layering: $msg:" >&2
        printf '%s\n' "$hits" | sed 's/^/  /' >&2
        bad=1
    fi
}

report "proto/ must stay pure (no Asio, OpenSSL or system I/O headers)" \
    "${inc}(asio|openssl/|sys/|unistd\.h|fcntl\.h|poll\.h|netdb\.h|netinet/|arpa/|socket\.h|signal\.h|dirent\.h)" \
    proto
report "common/ must not use Asio or OpenSSL" "${inc}(asio|openssl/)" common
# A daemon's own folder may include its files; the other daemon and every other folder not.
report "only daemons/lonc includes daemons/lonc files" "${inc}([./]*/)?(daemons/)?lonc/" \
    common proto daemons/link daemons/lond daemons/lonreply tests bench fuzz
report "only daemons/lond includes daemons/lond files" "${inc}([./]*/)?(daemons/)?lond/" \
    common proto daemons/link daemons/lonc daemons/lonreply tests bench fuzz

if [ $bad -eq 0 ]; then
    echo "layering ok"
fi
exit $bad
