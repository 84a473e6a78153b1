#!/usr/bin/env bash
# Tests for revocation and cert_dir safety in the certificate scripts: revoke-host (every
# certificate ever issued to a host, from the scripts' records and from an `openssl ca`
# index.txt, ends up in a CRL signed by the CA), the CRL carried and installed by response
# scripts, and response scripts never writing through a symlink planted in cert_dir.
# Everything happens in a temporary folder (removed on exit); needs bash, openssl, awk, sed.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed"; exit 1 on any failure.
set -euo pipefail

if [ "${1:-}" = "--help" ]; then
    echo "usage: tests/scripts/test_revocation_scripts.sh   test revoke-host and cert_dir symlink safety"
    exit 0
fi

root=$(cd -- "$(dirname -- "$(readlink -f -- "$0")")/../.." && pwd)
scripts="$root/scripts"
# The scripts read configs through lond (scripts/lib/lonconfig.sh); response scripts run from
# a temp folder find it only through LONLINK_BIN_DIR.
export LONLINK_BIN_DIR=${LONLINK_BIN_DIR:-$root/build/daemons}
t=$(mktemp -d)
trap 'rm -rf -- "$t"' EXIT
export CI=true
unset LONLINK_CONFIG
exec </dev/null

. "$(dirname -- "$0")/lib/tap.sh"
cd "$t"

check "revoke-host --help" bash -c '"$1" --help | grep -q "usage: revoke-host"' _ "$scripts/revoke-host"

# --- a CA and two hosts; certa signed three times (twice by sign-response, once by `openssl ca`)
check "make-cluster-ca" "$scripts/make-cluster-ca" --ca-dir "$t/ca" --name "revocation test CA"
cat >"$t/hosts.yaml" <<'EOF'
hosts:
  - { id: certa, address: 127.0.0.11 }
  - { id: certb, address: 127.0.0.12 }
EOF
for h in certa certb; do
    mkdir -p "$t/$h"
    cat >"$t/$h/lonlink.yaml" <<EOF
host_id: $h
hosts_file: $t/hosts.yaml
paths: { cert_dir: certs, socket_dir: sockets, run_dir: run, log_dir: log, spool_dir: spool, state_dir: state }
EOF
    check "request_ssl_key.sh ($h)" "$scripts/request_ssl_key.sh" --config "$t/$h/lonlink.yaml"
done
mkdir -p "$t/out"
check "sign-response certa (1st)" "$scripts/sign-response" --ca-dir "$t/ca" --hosts "$t/hosts.yaml" --out-dir "$t/out" "$t/certa/certs/lonhost.csr"
check "sign-response certa (2nd)" "$scripts/sign-response" --ca-dir "$t/ca" --hosts "$t/hosts.yaml" --out-dir "$t/out" "$t/certa/certs/lonhost.csr"
check "sign-response certb" "$scripts/sign-response" --ca-dir "$t/ca" --hosts "$t/hosts.yaml" --out-dir "$t/out" "$t/certb/certs/lonhost.csr"
serial_of() { local s; s=$(openssl x509 -in "$1" -noout -serial); echo "${s#serial=}"; }
# The same CA also used through `openssl ca` (index.txt): one more certa, one more certb.
mkdir -p "$t/ca/newcerts"
: >"$t/ca/index.txt"
cat >"$t/ossl-ca.cnf" <<EOF
[ ca ]
default_ca = c
[ c ]
dir = $t/ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
serial = \$dir/ossl-serial
default_md = sha256
default_days = 30
policy = p
unique_subject = no
[ p ]
commonName = supplied
EOF
openssl rand -hex 8 | tr a-f A-F >"$t/ca/ossl-serial"
ossl_sign() {
    openssl ca -batch -config "$t/ossl-ca.cnf" -in "$1" -out "$2" -notext >/dev/null 2>&1
}
check "openssl ca signs certa (3rd)" ossl_sign "$t/certa/certs/lonhost.csr" "$t/ossl-a.pem"
check "openssl ca signs certb" ossl_sign "$t/certb/certs/lonhost.csr" "$t/ossl-b.pem"
a_serials=$(awk -F'\t' '$2 == "certa" { print $1 }' "$t/ca/issued.txt"; serial_of "$t/ossl-a.pem")
b_serials=$(awk -F'\t' '$2 == "certb" { print $1 }' "$t/ca/issued.txt"; serial_of "$t/ossl-b.pem")
check "three certa serials, two certb serials known" bash -c '[ "$(echo "$1" | wc -l)" = 3 ] && [ "$(echo "$2" | wc -l)" = 2 ]' _ "$a_serials" "$b_serials"

# --- revoke-host -----------------------------------------------------------------------------
refuses "revoke-host: a host with no certificate issued" "$scripts/revoke-host" --ca-dir "$t/ca" nosuchhost
check "  ... no CRL written" test ! -e "$t/ca/loncapaCRL.pem"
check "revoke-host --ca-dir ca certa" "$scripts/revoke-host" --ca-dir "$t/ca" certa
CRL="$t/ca/loncapaCRL.pem"
check "  ... wrote ca/loncapaCRL.pem, signed by the CA" bash -c 'openssl crl -in "$1" -CAfile "$2" -noout 2>&1 | grep -q "verify OK"' _ "$CRL" "$t/ca/ca.pem"
openssl crl -in "$CRL" -noout -text >"$t/crl.txt" 2>&1 || true
for s in $a_serials; do
    check "  ... CRL lists certa serial $s" grep -qi "Serial Number: 0*$s\$" "$t/crl.txt"
done
for s in $b_serials; do
    check "  ... CRL does not list certb serial $s" bash -c '! grep -qi "Serial Number: 0*$1\$" "$2"' _ "$s" "$t/crl.txt"
done
check "  ... openssl verify -crl_check: certa's certificate revoked" bash -c '! openssl verify -crl_check -CAfile "$1" -CRLfile "$2" "$3" >"$4" 2>&1 && grep -q "certificate revoked" "$4"' _ "$t/ca/ca.pem" "$CRL" "$t/ossl-a.pem" "$t/v.out"
check "  ... openssl verify -crl_check: certb's certificate OK" openssl verify -crl_check -CAfile "$t/ca/ca.pem" -CRLfile "$CRL" "$t/ossl-b.pem"
check "  ... openssl ca's index.txt marks certa revoked (R), certb valid (V)" bash -c 'awk -F"\t" "\$6 ~ /CN=certa/ && \$1 != \"R\" { bad = 1 } \$6 ~ /CN=certb/ && \$1 != \"V\" { bad = 1 } END { exit bad }" "$1"' _ "$t/ca/index.txt"
check "revoke-host again (idempotent), then certb: both hosts in the CRL" bash -c '"$1" --ca-dir "$2" certa && "$1" --ca-dir "$2" certb && [ "$(openssl crl -in "$2/loncapaCRL.pem" -noout -text | grep -c "Serial Number:")" = 5 ]' _ "$scripts/revoke-host" "$t/ca"

# --- response scripts carry the CRL ----------------------------------------------------------
# A fresh host certc, signed after the revocations.
cat >>"$t/hosts.yaml" <<'EOF'
  - { id: certc, address: 127.0.0.13 }
EOF
mkdir -p "$t/certc"
sed 's/certb/certc/' "$t/certb/lonlink.yaml" >"$t/certc/lonlink.yaml"
check "request_ssl_key.sh (certc)" "$scripts/request_ssl_key.sh" --config "$t/certc/lonlink.yaml"
check "sign-response certc" "$scripts/sign-response" --ca-dir "$t/ca" --hosts "$t/hosts.yaml" --out-dir "$t/out" "$t/certc/certs/lonhost.csr"
RC="$t/out/certc.response.sh"
C="$t/certc/certs"
check "certc.response.sh installs" bash "$RC" --config "$t/certc/lonlink.yaml" --no-reload
check "  ... cert_dir/loncapaCRL.pem is the CA's current CRL, mode 0644" bash -c 'cmp "$1/loncapaCRL.pem" "$2" && [ "$(stat -c %a "$1/loncapaCRL.pem")" = 644 ]' _ "$C" "$CRL"

# --- never write through a symlink planted in cert_dir ----------------------------------------
# Whoever can write cert_dir plants a link to a file only root may change; the response
# script (run as root in real life) must refuse and leave that file alone.
echo "precious" >"$t/victim"
cp "$t/victim" "$t/victim.orig"
for planted in lonhostcert.pem.prev loncapaCA.pem.prev loncapaCRL.pem loncapaCRL.pem.prev lonhostcert.pem; do
    rm -f -- "$C/$planted"
    cp "$t/victim.orig" "$t/victim"
    ln -s "$t/victim" "$C/$planted"
    refuses "response script with a symlink $planted in cert_dir refuses" bash "$RC" --config "$t/certc/lonlink.yaml" --no-reload
    check "  ... the symlink's target is unchanged" cmp "$t/victim" "$t/victim.orig"
    check "  ... and the symlink is still only a symlink to it" bash -c '[ -L "$1" ] && [ "$(readlink "$1")" = "$2" ]' _ "$C/$planted" "$t/victim"
    rm -f -- "$C/$planted"
done
# cert_dir itself a symlink (to a folder the attacker chose).
mv "$C" "$t/certc/real-certs"
ln -s "$t/certc/real-certs" "$C"
refuses "response script with cert_dir a symlink refuses" bash "$RC" --config "$t/certc/lonlink.yaml" --no-reload
rm -f "$C"
mv "$t/certc/real-certs" "$C"
check "after the refusals, a clean cert_dir installs again" bash "$RC" --config "$t/certc/lonlink.yaml" --no-reload
check "  ... no temporary files left in cert_dir" bash -c '! ls -A "$1" | grep -q "^\."' _ "$C"

tap_summary
