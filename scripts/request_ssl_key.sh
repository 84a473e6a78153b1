#!/usr/bin/env bash
# request_ssl_key.sh — host side, step 1 of getting a lonlink host certificate.
#
# In cert_dir (from the config): make the host key lonhostkey.pem if there is none yet (mode
# 0600; encrypted with tls.key_passphrase_file when that is set), write a certificate signing
# request lonhost.csr for CN=<host_id> (plus subjectAltName URI:lonhost:<host_id>), print it
# on stdout, and optionally mail it to the cluster CA. The CA answers with <host_id>.response.sh
# (made by sign-response), which installs the certificate.
#
# stdout carries only the CSR (PEM); everything else goes to stderr.
set -euo pipefail

prog=request_ssl_key.sh
here=$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd)
# Filled in by meson when installed (configure_file); in a checkout the placeholder stays
# and the version is read from the meson.build beside scripts/.
lonlink_version='@LONLINK_VERSION@'
case $lonlink_version in *@LONLINK_*) lonlink_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" \
    "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../meson.build" 2>/dev/null | head -n 1 || true) ;; esac
# lib/: beside this script in a checkout. Installed, it is in libexec/lonlink: looked for
# relative to this script first (so a staging root or a moved tree works), then where meson
# installed it (configure_file fills in both; in a checkout they stay placeholders).
lib_dir=$here/lib
for c in "$here/@LONLINK_LIB_REL@" '@LONLINK_LIBDIR@'; do
    case $c in *@LONLINK_*) ;; *) if [ -r "$c/lonconfig.sh" ]; then lib_dir=$c; break; fi ;; esac
done
usage() {
    cat <<EOF
usage: $prog [--config FILE] [--email ADDRESS] [--key-type ec|rsa]

Make this host's key (if absent) and a certificate request, in cert_dir of the lonlink config.

  --config FILE     lonlink config (default: \$LONLINK_CONFIG, else /etc/lonlink/lonlink.yaml)
  --email ADDRESS   also mail the request to ADDRESS (the cluster CA admin), with mail(1) or
                    sendmail(8); without a mailer, says so and exits 0
  --key-type T      type of a NEW key: ec (P-256, default) or rsa (3072 bits); an existing
                    lonhostkey.pem is always kept
  --help            this text

Files (in cert_dir, created mode 0755 if missing):
  lonhostkey.pem    private key, mode 0600; encrypted (AES-256) with the passphrase in
                    tls.key_passphrase_file when that is set. Never leaves this host.
  lonhost.csr       request with subject CN=<host_id>, SAN URI:lonhost:<host_id>; printed on stdout.

Next: send lonhost.csr to the CA admin, who runs
  sign-response --ca-dir CA --hosts hosts.yaml lonhost.csr
and sends back <host_id>.response.sh; run that here (see its --help).
EOF
}
die() { echo "$prog: $*" >&2; exit 1; }
note() { echo "$prog: $*" >&2; }

config="" email="" key_type=ec
while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h) usage; exit 0 ;;
        --version) echo "$prog (lonlink) ${lonlink_version:-unknown}"; exit 0 ;;
        --config) [ $# -ge 2 ] || die "--config needs a value"; config=$2; shift 2 ;;
        --config=*) config=${1#*=}; shift ;;
        --email) [ $# -ge 2 ] || die "--email needs a value"; email=$2; shift 2 ;;
        --email=*) email=${1#*=}; shift ;;
        --key-type) [ $# -ge 2 ] || die "--key-type needs a value"; key_type=$2; shift 2 ;;
        --key-type=*) key_type=${1#*=}; shift ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
case "$key_type" in ec|rsa) ;; *) die "--key-type must be ec or rsa, not '$key_type'" ;; esac
if [ -n "$email" ] && ! [[ "$email" =~ ^[A-Za-z0-9._%+=/\'-]+@[A-Za-z0-9.-]+$ ]] || [[ "$email" == -* ]]; then
    die "--email '$email' does not look like a mail address (user@host)"
fi
command -v openssl >/dev/null || die "openssl not found in PATH"

# shellcheck source=lib/lonconfig.sh
. "$lib_dir/lonconfig.sh"
lonconf_load "$(lonconf_default_path "$config")" || exit 1
id=$LONCONF_HOST_ID
cert_dir=$LONCONF_CERT_DIR
pass_file=$LONCONF_KEY_PASSPHRASE_FILE
key="$cert_dir/lonhostkey.pem"
csr="$cert_dir/lonhost.csr"

if [ -n "$pass_file" ]; then
    [ -f "$pass_file" ] && [ -r "$pass_file" ] ||
        die "tls.key_passphrase_file $pass_file is not a readable file"
    [ -s "$pass_file" ] || die "tls.key_passphrase_file $pass_file is empty"
fi

if [ ! -d "$cert_dir" ]; then
    mkdir -p -- "$cert_dir" || die "cannot create cert_dir $cert_dir"
    chmod 0755 -- "$cert_dir"
    note "created $cert_dir"
fi
[ -w "$cert_dir" ] || die "cert_dir $cert_dir is not writable (run as its owner or root)"

tmp=""
cleanup() { [ -z "$tmp" ] || rm -f -- "$tmp"; }
trap cleanup EXIT

passin=()
[ -z "$pass_file" ] || passin=(-passin "file:$pass_file")

if [ -e "$key" ] || [ -L "$key" ]; then
    [ -f "$key" ] || die "$key exists but is not a regular file"
    mode=$(stat -c %a -- "$key")
    if [ $((8#$mode & 8#077)) -ne 0 ]; then
        chmod go-rwx -- "$key"
        note "$key had mode $mode; tightened to $(stat -c %a -- "$key") (lonc/lond refuse group/other access)"
    fi
    openssl pkey -in "$key" "${passin[@]}" -noout </dev/null 2>/dev/null ||
        die "cannot read existing key $key$([ -n "$pass_file" ] && echo " with the passphrase in $pass_file")"
    note "keeping existing key $key"
else
    tmp=$(umask 077 && mktemp "$cert_dir/.lonhostkey.pem.XXXXXX")
    genopts=()
    if [ "$key_type" = ec ]; then
        genopts=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve)
    else
        genopts=(-algorithm RSA -pkeyopt rsa_keygen_bits:3072)
    fi
    if [ -n "$pass_file" ]; then
        genopts+=(-aes-256-cbc -pass "file:$pass_file")
    fi
    err=$( (umask 077 && openssl genpkey "${genopts[@]}" -out "$tmp" </dev/null) 2>&1) ||
        die "cannot generate the key: ${err##*$'\n'}"
    chmod 0600 -- "$tmp"
    # Daemons that dropped to user: read the key again on reload as that user
    # (docs/privileges-and-logs.md): give it the new key, as a start would.
    run_as=$(lonconf_value "$LONCONF_FILE" "" user 2>/dev/null) || run_as=
    if [ -n "$run_as" ] && [ "$(id -u)" -eq 0 ]; then
        chown -- "$run_as" "$tmp" || die "cannot give $key to user $run_as"
    fi
    mv -f -- "$tmp" "$key"
    tmp=""
    note "created key $key (mode 0600$([ -n "$pass_file" ] && echo ", encrypted with $pass_file"))"
fi

# The subject and the SAN are what sign-response will use anyway (it sets them itself); they are
# in the request so that the CA admin sees what is asked for.
tmp=$(mktemp "$cert_dir/.lonhost.csr.XXXXXX")
cnf=$(mktemp)
trap 'cleanup; rm -f -- "$cnf"' EXIT
printf '[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\n' >"$cnf"
err=$(openssl req -new -config "$cnf" -key "$key" "${passin[@]}" -sha256 -subj "/CN=$id" \
    -addext "subjectAltName = URI:lonhost:$id" -out "$tmp" </dev/null 2>&1) ||
    die "cannot make the certificate request: ${err##*$'\n'}"
chmod 0644 -- "$tmp"
mv -f -- "$tmp" "$csr"
tmp=""
note "wrote request $csr (CN=$id)"
cat -- "$csr"

[ -n "$email" ] || exit 0

subject="lonlink certificate request for $id"
body=$(
    echo "lonlink host $id ($(uname -n)) asks for a host certificate."
    echo "CA admin: save the request below as $id.csr and run"
    echo "  sign-response --ca-dir CA_DIR --hosts hosts.yaml $id.csr"
    echo "then send $id.response.sh back to the admin of $id."
    echo
    cat -- "$csr"
)
if command -v mail >/dev/null 2>&1; then
    printf '%s\n' "$body" | mail -s "$subject" "$email" >/dev/null 2>&1 ||
        die "mail to $email failed"
    note "mailed the request to $email (mail)"
elif command -v sendmail >/dev/null 2>&1 || [ -x /usr/sbin/sendmail ]; then
    sm=$(command -v sendmail 2>/dev/null || echo /usr/sbin/sendmail)
    printf 'To: %s\nSubject: %s\n\n%s\n' "$email" "$subject" "$body" | "$sm" -oi -t >/dev/null 2>&1 ||
        die "sendmail to $email failed"
    note "mailed the request to $email (sendmail)"
else
    note "no mailer found (mail or sendmail); send $csr to $email yourself"
fi
exit 0
