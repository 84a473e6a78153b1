#!/usr/bin/env bash
# Tests for the certificate scripts: make-cluster-ca, request_ssl_key.sh, sign-response, the
# generated <id>.response.sh (clean and mail-saved), and scripts/lib/lonconfig.sh.
# Everything happens in a temporary folder (removed on exit); needs bash, openssl, awk, sed.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed"; exit 1 on any failure.
set -euo pipefail

if [ "${1:-}" = "--help" ]; then
    echo "usage: tests/scripts/test_cert_scripts.sh   test the certificate scripts in a temp folder"
    exit 0
fi

root=$(cd -- "$(dirname -- "$(readlink -f -- "$0")")/../.." && pwd)
scripts="$root/scripts"
# The scripts read configs through lond (scripts/lib/lonconfig.sh); response scripts run from
# a temp folder find it only through LONLINK_BIN_DIR.
export LONLINK_BIN_DIR=${LONLINK_BIN_DIR:-$root/build/daemons}
t=$(mktemp -d)
fake_pid=""
cleanup() {
    [ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null || true
    rm -rf -- "$t"
}
trap cleanup EXIT
export CI=true
unset LONLINK_CONFIG
exec </dev/null

. "$(dirname -- "$0")/lib/tap.sh"
mode_is() { [ "$(stat -c %a -- "$2")" = "$1" ]; }
has() { grep -q -- "$1" "$2"; }

cd "$t"

# --- lonconfig.sh ----------------------------------------------------------------------------
cat >"$t/block.yaml" <<'EOF'
# block style
host_id: "blk"   # quoted
hosts_file: blk-hosts.yaml
paths:
  cert_dir: /srv/lon certs
  run_dir: run
tls:
  key_passphrase_file: secret/pass
  expiry_warning_days: 14
EOF
cat >"$t/blk-hosts.yaml" <<'EOF'
hosts:
  - { id: blk, address: 127.0.0.1 }
EOF
cat >"$t/mixed-hosts.yaml" <<'EOF'
hosts:
  - { id: h1, address: 127.0.0.11, port: 5663 }
  - {
      address: 127.0.0.12,
      id: 'h2' }
  - id: h3
    address: 127.0.0.13
  - address: 127.0.0.14
    id: h4     # comment
EOF
lonconf_block() {
    (
        . "$scripts/lib/lonconfig.sh"
        lonconf_load "$t/block.yaml"
        [ "$LONCONF_HOST_ID" = blk ] && [ "$LONCONF_HOSTS_FILE" = "$t/blk-hosts.yaml" ] &&
            [ "$LONCONF_CERT_DIR" = "/srv/lon certs" ] && [ "$LONCONF_RUN_DIR" = "$t/run" ] &&
            [ "$LONCONF_STATE_DIR" = "$t/state" ] && [ "$LONCONF_SOCKET_DIR" = "$t/sockets" ] &&
            [ "$LONCONF_LOG_DIR" = "$t/log" ] && [ "$LONCONF_KEY_PASSPHRASE_FILE" = "$t/secret/pass" ] &&
            [ "$LONCONF_FILE" = "$t/block.yaml" ] && [ "$LONCONF_DIR" = "$t" ]
    )
}
check "lonconfig: block-style config, defaults and relative paths" lonconf_block
lonconf_hosts() {
    (. "$scripts/lib/lonconfig.sh"; [ "$(lonconf_host_ids "$t/mixed-hosts.yaml" | tr '\n' ' ')" = "h1 h2 h3 h4 " ])
}
check "lonconfig: host ids from flow, multi-line flow and block entries" lonconf_hosts
lonconf_hosts_tab() {
    printf '# lonHostID:domain:role:name\n\n  h1:d:library:10.0.0.1:https\r\nh2:d:access:[fd00::2]\n\t# off\n' \
        > "$t/hosts.tab"
    (. "$scripts/lib/lonconfig.sh"; [ "$(lonconf_host_ids "$t/hosts.tab" | tr '\n' ' ')" = "h1 h2 " ])
}
check "lonconfig: host ids from a LON-CAPA hosts.tab (comments, blanks, CR skipped)" lonconf_hosts_tab
lonconf_default() {
    (
        . "$scripts/lib/lonconfig.sh"
        [ "$(lonconf_default_path)" = /etc/lonlink/lonlink.yaml ] &&
            [ "$(LONLINK_CONFIG=/x.yaml lonconf_default_path)" = /x.yaml ] &&
            [ "$(LONLINK_CONFIG=/x.yaml lonconf_default_path /y.yaml)" = /y.yaml ]
    )
}
check "lonconfig: --config, then \$LONLINK_CONFIG, then /etc/lonlink/lonlink.yaml" lonconf_default

# --- --help ----------------------------------------------------------------------------------
for s in make-cluster-ca request_ssl_key.sh sign-response; do
    check "$s --help" bash -c '"$1" --help | grep -q usage' _ "$scripts/$s"
done
# Every host writes its request as cert_dir/lonhost.csr (issue 10 §10: the CA's next step named
# "<host>.csr", a file no host writes).
check "make-cluster-ca --help names the file a host writes (lonhost.csr)" bash -c \
    '"$1" --help >"$2" && grep -q "lonhost.csr" "$2" && ! grep -q "<host>.csr" "$2"' _ "$scripts/make-cluster-ca" "$t/help.txt"

# --- the CA ----------------------------------------------------------------------------------
check "make-cluster-ca creates the CA" "$scripts/make-cluster-ca" --ca-dir "$t/ca" --name "lonlink test CA"
check "CA folder 0700, ca.key 0600" bash -c '[ "$(stat -c %a "$1")" = 700 ] && [ "$(stat -c %a "$1/ca.key")" = 600 ]' _ "$t/ca"
openssl x509 -in "$t/ca/ca.pem" -noout -subject -ext basicConstraints,keyUsage >"$t/ca.txt" 2>&1 || true
check "ca.pem: CN, CA:TRUE, keyCertSign+cRLSign" bash -c 'grep -q "CN = lonlink test CA" "$1" && grep -q "CA:TRUE" "$1" && grep -q "Certificate Sign, CRL Sign" "$1"' _ "$t/ca.txt"
cp "$t/ca/ca.pem" "$t/ca.pem.orig"
refuses "make-cluster-ca refuses to overwrite an existing CA" "$scripts/make-cluster-ca" --ca-dir "$t/ca" --name other
check "existing CA untouched" cmp "$t/ca/ca.pem" "$t/ca.pem.orig"

# --- two hosts -------------------------------------------------------------------------------
cat >"$t/hosts.yaml" <<'EOF'
hosts:
  - { id: certa, address: 127.0.0.11, port: 5663 }
  - id: certb
    address: 127.0.0.12
EOF
mkdir -p "$t/a" "$t/b"
cat >"$t/a/lonlink.yaml" <<EOF
host_id: certa
hosts_file: $t/hosts.yaml
listen: { address: 127.0.0.11, port: 5663 }
paths: { cert_dir: certs, socket_dir: sockets, run_dir: run, log_dir: log, spool_dir: spool, state_dir: state }
tls: { key_passphrase_file: null, expiry_warning_days: 14 }
EOF
echo "b-secret-passphrase" >"$t/b/pass"
chmod 600 "$t/b/pass"
cat >"$t/b/lonlink.yaml" <<EOF
host_id: certb
hosts_file: ../hosts.yaml
paths:
  cert_dir: tls
  run_dir: run
tls:
  key_passphrase_file: pass
EOF

# --- host certa: request -----------------------------------------------------------------------
A="$t/a/certs"
if "$scripts/request_ssl_key.sh" --config "$t/a/lonlink.yaml" >"$t/a.csr.out" 2>"$t/last.log"; then
    ok "request_ssl_key.sh (certa)"
else
    nok "request_ssl_key.sh (certa)"
fi
check "CSR printed on stdout (PEM only)" bash -c 'head -n1 "$1" | grep -qx -- "-----BEGIN CERTIFICATE REQUEST-----" && tail -n1 "$1" | grep -qx -- "-----END CERTIFICATE REQUEST-----"' _ "$t/a.csr.out"
check "cert_dir created 0755, lonhostkey.pem 0600, unencrypted" bash -c '[ "$(stat -c %a "$1")" = 755 ] && [ "$(stat -c %a "$1/lonhostkey.pem")" = 600 ] && head -n1 "$1/lonhostkey.pem" | grep -q "BEGIN PRIVATE KEY"' _ "$A"
openssl req -in "$A/lonhost.csr" -noout -subject -text >"$t/a.csr.txt" 2>&1 || true
check "CSR: subject CN=certa, SAN URI:lonhost:certa" bash -c 'grep -q "subject=CN = certa" "$1" && grep -q "URI:lonhost:certa" "$1"' _ "$t/a.csr.txt"
# --email with a mailer: a fake mail(1) first on PATH records what it was given.
mkdir -p "$t/bin"
cat >"$t/bin/mail" <<EOF
#!/bin/bash
printf '%s\n' "\$@" >"$t/mail.args"
cat >"$t/mail.body"
EOF
chmod +x "$t/bin/mail"
cp "$A/lonhostkey.pem" "$t/a.key.0"
mail_with_fake() {
    PATH="$t/bin:$PATH" LONLINK_CONFIG="$t/a/lonlink.yaml" "$scripts/request_ssl_key.sh" --email ca@example.invalid &&
        grep -qx "ca@example.invalid" "$t/mail.args" && grep -q "certificate request for certa" "$t/mail.args" &&
        grep -q "BEGIN CERTIFICATE REQUEST" "$t/mail.body" && cmp -s "$A/lonhostkey.pem" "$t/a.key.0"
}
check "request_ssl_key.sh via \$LONLINK_CONFIG --email: mails the CSR (mail), keeps the key" mail_with_fake
if ! command -v mail >/dev/null && ! command -v sendmail >/dev/null && [ ! -x /usr/sbin/sendmail ]; then
    no_mailer() {
        "$scripts/request_ssl_key.sh" --config "$t/a/lonlink.yaml" --email ca@example.invalid >/dev/null 2>"$t/nomail.err" &&
            grep -q "no mailer" "$t/nomail.err"
    }
    check "request_ssl_key.sh --email without a mailer: note, exit 0" no_mailer
fi
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    # Daemons running as user: read the key again on reload (docs/privileges-and-logs.md).
    key_for_user() {
        mkdir -p "$t/u" &&
            sed -e 's/^host_id: certa/host_id: certa\nuser: nobody/' -e "s|cert_dir: certs|cert_dir: $t/u/certs|" \
                "$t/a/lonlink.yaml" >"$t/u/lonlink.yaml" &&
            "$scripts/request_ssl_key.sh" --config "$t/u/lonlink.yaml" >/dev/null 2>"$t/u.err" &&
            [ "$(stat -c %U:%a "$t/u/certs/lonhostkey.pem")" = nobody:600 ]
    }
    check "request_ssl_key.sh as root with user: nobody: the new key is nobody's, 0600" key_for_user
fi
refuses "request_ssl_key.sh --email with a bad address" "$scripts/request_ssl_key.sh" --config "$t/a/lonlink.yaml" --email "-oQ/tmp x"
cp "$A/lonhostkey.pem" "$t/a.key.1"

# --- CA: sign ------------------------------------------------------------------------------------
mkdir -p "$t/out"
check "sign-response signs certa's request" "$scripts/sign-response" --ca-dir "$t/ca" --hosts "$t/hosts.yaml" --out-dir "$t/out" "$A/lonhost.csr"
RA="$t/out/certa.response.sh"
check "certa.response.sh written, parses, has no CR" bash -c '[ -s "$1" ] && bash -n "$1" && ! grep -q $'"'"'\r'"'"' "$1"' _ "$RA"
check "issued.txt records certa" grep -q "certa" "$t/ca/issued.txt"

# --- host certa: install (clean file) ----------------------------------------------------------
# A fake lond (its comm is "lond") with a pid file, to see the reload.
mkdir -p "$t/a/run" "$t/fake"
# On HUP it answers as lond does, in run/lond.reload: "<pid> <n> reloaded <file>", or the
# verdict in $t/fake/verdict when that file exists ("refused: ..."), or nothing at all while
# $t/fake/silent exists (a hung lond).
cat >"$t/fake/lond" <<EOF
#!/bin/bash
n=0
hup() {
    echo hup >>"$t/fake/hups"
    n=\$((n + 1))
    if [ -f "$t/fake/silent" ]; then
        return # a hung lond: no verdict
    elif [ -f "$t/fake/verdict" ]; then
        echo "\$\$ \$n \$(cat "$t/fake/verdict")" >"$t/a/run/lond.reload"
    else
        echo "\$\$ \$n reloaded $t/a/lonlink.yaml" >"$t/a/run/lond.reload"
    fi
}
trap hup HUP
while :; do sleep 0.1; done
EOF
chmod +x "$t/fake/lond"
# --default-signal: a shell cannot trap a signal ignored when it started (nohup, some CI
# runners), and then the fake would never see the HUP it is sent.
env --default-signal=HUP "$t/fake/lond" &
fake_pid=$!
echo "$fake_pid" >"$t/a/run/lond.pid"
echo "$$" >"$t/a/run/lonc.pid"   # a live process that is not lonc: must not get HUP
for _ in $(seq 50); do [ "$(cat "/proc/$fake_pid/comm" 2>/dev/null)" = lond ] && break; sleep 0.1; done

check "bash certa.response.sh --config (clean file)" bash "$RA" --config "$t/a/lonlink.yaml"
cp "$t/last.log" "$t/install1.log"
openssl x509 -in "$A/lonhostcert.pem" -noout -subject -ext subjectAltName,extendedKeyUsage,basicConstraints,keyUsage >"$t/a.cert.txt" 2>&1 || true
check "installed cert: subject CN=certa" grep -q "subject=CN = certa" "$t/a.cert.txt"
check "installed cert: SAN URI:lonhost:certa" grep -q "URI:lonhost:certa" "$t/a.cert.txt"
check "installed cert: EKU serverAuth + clientAuth" grep -q "TLS Web Server Authentication, TLS Web Client Authentication" "$t/a.cert.txt"
check "installed cert: CA:FALSE, digitalSignature+keyEncipherment" bash -c 'grep -q "CA:FALSE" "$1" && grep -q "Digital Signature, Key Encipherment" "$1"' _ "$t/a.cert.txt"
check "openssl verify -CAfile loncapaCA.pem lonhostcert.pem" openssl verify -CAfile "$A/loncapaCA.pem" "$A/lonhostcert.pem"
check "loncapaCA.pem is the cluster CA" cmp "$A/loncapaCA.pem" "$t/ca/ca.pem"
check "modes: lonhostcert.pem 0644, loncapaCA.pem 0644, lonhostkey.pem 0600" bash -c '[ "$(stat -c %a "$1/lonhostcert.pem")" = 644 ] && [ "$(stat -c %a "$1/loncapaCA.pem")" = 644 ] && [ "$(stat -c %a "$1/lonhostkey.pem")" = 600 ]' _ "$A"
check "no temporary files left in cert_dir" bash -c '! ls -A "$1" | grep -q "^\."' _ "$A"
# The fake runs its trap between two sleeps; give a loaded machine time (10 s).
for _ in $(seq 100); do [ -s "$t/fake/hups" ] && break; sleep 0.1; done
check "the response script says it sent HUP to the running lond" grep -q "lond: sent HUP to pid $fake_pid" "$t/install1.log"
check "running lond (pid file, comm lond) got HUP" grep -q hup "$t/fake/hups"
check "lonc.pid naming a non-lonc process: no HUP, reported" grep -q "lonc: not running (stale pid file" "$t/install1.log"
check "the response script reports lond's verdict: reloaded" grep -q "lond: reloaded: it uses the new certificate" "$t/install1.log"
# A lond that refuses the new set: the script says so, with the reason, and exits 1.
echo "refused: lonhostkey.pem: unreadable" >"$t/fake/verdict"
refuses "a response whose reload lond refuses exits non-zero" bash "$RA" --config "$t/a/lonlink.yaml"
cp "$t/last.log" "$t/refused.log"
check "... and says lond refused, why, and that the old certificates stay in use" bash -c '
    grep -q "lond (pid $2) refused: lonhostkey.pem: unreadable" "$1" &&
    grep -q "the certificate is installed, but lond keeps running with its previous" "$1"' _ "$t/refused.log" "$fake_pid"
rm -f "$t/fake/verdict"
# A lond that never answers (hung): the script waits 10 s at most, warns, and still succeeds
# (the certificate is installed; whether lond took it is unknown).
touch "$t/fake/silent"
started=$SECONDS
check "a response whose reload lond never answers still installs (exit 0)" bash "$RA" --config "$t/a/lonlink.yaml"
waited=$((SECONDS - started))
cp "$t/last.log" "$t/silent.log"
check "... and warns that lond did not say within 10 s whether it reloaded" grep -q "lond (pid $fake_pid) did not say within 10 s whether it reloaded" "$t/silent.log"
check "... after waiting about 10 s, not forever ($waited s)" test "$waited" -ge 9 -a "$waited" -le 20
rm -f "$t/fake/silent"

# --- mail-saved response (headers on top, CRLF, signature below), via the documented one-liner ---
rm -f "$A/lonhostcert.pem" "$A/loncapaCA.pem" "$A"/*.prev
{
    printf 'Return-Path: <ca@example.edu>\nFrom: CA admin <ca@example.edu>\nTo: admin@certa.example.edu\n'
    printf 'Subject: Re: cert (lonlink) $(touch %s/PWNED) `touch %s/PWNED`\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n' "$t" "$t"
    printf 'Content-Type: text/plain; charset=us-ascii\n\nHello, run the script below.\n\n'
    cat "$RA"
    printf '\n-- \nThe CA admin; (call me) $(touch %s/PWNED)\n' "$t"
} | sed 's/$/\r/' >"$t/saved.eml"
oneliner() { sed -n '/^#!\/bin\/bash/,${s/\r$//;p}' "$1" | bash -s -- --config "$2" --no-reload; }
check "mail-saved response via: sed -n '/^#!\/bin\/bash/,\${s/\\r\$//;p}' FILE | bash -s -- --config F" oneliner "$t/saved.eml" "$t/a/lonlink.yaml"
check "  ... installed and verifies" openssl verify -CAfile "$A/loncapaCA.pem" "$A/lonhostcert.pem"
check "  ... no mail header or footer text was executed" test ! -e "$t/PWNED"
sed 's/$/\r/' "$RA" >"$t/crlf.response.sh"
check "response --help" bash -c 'bash "$1" --help | grep -q "usage: bash certa.response.sh"' _ "$RA"
check "sh certa.response.sh (re-runs itself with bash)" sh "$RA" --config "$t/a/lonlink.yaml" --no-reload
check "clean response with CRLF line ends: bash FILE still works" bash "$t/crlf.response.sh" --config "$t/a/lonlink.yaml" --no-reload
head -c 12000 "$RA" >"$t/truncated.response.sh"
cp "$A/lonhostcert.pem" "$t/a.cert.before"
refuses "truncated response does nothing" bash "$t/truncated.response.sh" --config "$t/a/lonlink.yaml"

# --- refusals ------------------------------------------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$t/z.key" 2>/dev/null
openssl req -new -key "$t/z.key" -subj "/CN=certz" -out "$t/z.csr" 2>/dev/null
refuses "sign-response: CSR for an id not in the hosts table" "$scripts/sign-response" --ca-dir "$t/ca" --hosts "$t/hosts.yaml" --out-dir "$t/out" "$t/z.csr"
check "  ... no certz.response.sh written" test ! -e "$t/out/certz.response.sh"
openssl req -new -key "$t/z.key" -subj "/CN=cert.a" -out "$t/bad.csr" 2>/dev/null
refuses "sign-response: CN that is not a valid host id" "$scripts/sign-response" --ca-dir "$t/ca" --hosts "$t/hosts.yaml" --out-dir "$t/out" "$t/bad.csr"
# A request for certa asking for CA:TRUE and an extra SAN: the CA must not copy them.
openssl req -new -key "$t/z.key" -subj "/O=Evil/CN=certa" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "subjectAltName=DNS:evil.example,URI:lonhost:certb" -out "$t/evil.csr" 2>/dev/null
mkdir -p "$t/evil"
check "sign-response signs a request with its own extensions" "$scripts/sign-response" --ca-dir "$t/ca" --hosts "$t/hosts.yaml" --out-dir "$t/evil" "$t/evil.csr"
sed -n '/^lonlink_response_cert()/,/^LONLINK_PEM_END/p' "$t/evil/certa.response.sh" | sed '1,2d;$d' >"$t/evil.pem"
openssl x509 -in "$t/evil.pem" -noout -subject -ext basicConstraints,subjectAltName >"$t/evil.txt" 2>&1 || true
check "  ... CSR extensions ignored: subject CN=certa only, CA:FALSE, SAN only URI:lonhost:certa" bash -c 'grep -q "^subject=CN = certa$" "$1" && grep -q "CA:FALSE" "$1" && ! grep -q "CA:TRUE" "$1" && ! grep -q "evil" "$1" && ! grep -q "lonhost:certb" "$1"' _ "$t/evil.txt"
# Tampered request: flip a bit in the signature (still well-formed DER); the signature must fail.
openssl req -in "$A/lonhost.csr" -outform DER -out "$t/req.der" 2>/dev/null
last=$(tail -c1 "$t/req.der" | od -An -tu1 | tr -d ' ')
{ head -c -1 "$t/req.der"; printf "\\$(printf %o $((last ^ 1)))"; } >"$t/tampered.der"
openssl req -inform DER -in "$t/tampered.der" -out "$t/tampered.csr" 2>/dev/null
refuses "sign-response: CSR with a bad signature" "$scripts/sign-response" --ca-dir "$t/ca" --hosts "$t/hosts.yaml" --out-dir "$t/evil" "$t/tampered.csr"
cp "$t/last.log" "$t/sig.log"
check "  ... because of the signature" grep -q "signature" "$t/sig.log"

# Host certb: encrypted key (tls.key_passphrase_file), block-style config.
B="$t/b/tls"
check "request_ssl_key.sh (certb, passphrase file)" "$scripts/request_ssl_key.sh" --config "$t/b/lonlink.yaml"
check "certb key is encrypted, mode 0600" bash -c 'head -n1 "$1" | grep -q "BEGIN ENCRYPTED PRIVATE KEY" && [ "$(stat -c %a "$1")" = 600 ]' _ "$B/lonhostkey.pem"
check "sign-response signs certb's request" "$scripts/sign-response" --ca-dir "$t/ca" --hosts "$t/hosts.yaml" --out-dir "$t/out" "$B/lonhost.csr"
RB="$t/out/certb.response.sh"
cp "$A/lonhostcert.pem" "$t/a.cert.before"
refuses "certb.response.sh run on certa refuses" bash "$RB" --config "$t/a/lonlink.yaml" --no-reload
check "  ... certa's certificate untouched" cmp "$A/lonhostcert.pem" "$t/a.cert.before"
check "certb.response.sh on certb (encrypted key) installs" bash "$RB" --config "$t/b/lonlink.yaml" --no-reload
check "  ... certb verifies, CN=certb" bash -c 'openssl verify -CAfile "$1/loncapaCA.pem" "$1/lonhostcert.pem" && openssl x509 -in "$1/lonhostcert.pem" -noout -subject | grep -q "CN = certb"' _ "$B"

# --- the CA roster (trust on first use, issue 8 §3) -------------------------------------------
# roster_text FILE CA: the signed text, verified as a CMS message against the cluster CA only.
roster_text() { openssl cms -verify -binary -inform PEM -in "$1" -CAfile "$2" -purpose any 2>/dev/null; }
check "CA roster: DIR/roster.pem is signed by the cluster CA (openssl cms -verify -CAfile ca.pem)" \
    bash -c 'openssl cms -verify -binary -inform PEM -in "$1/roster.pem" -CAfile "$1/ca.pem" -purpose any -out /dev/null' _ "$t/ca"
roster_text "$t/ca/roster.pem" "$t/ca/ca.pem" >"$t/roster.txt" || true
check "  ... it lists certa and certb, once each, with their certificates' expiry" bash -c \
    'head -n1 "$1" | grep -qx "lonlink-roster 1" && grep -q "^serial [0-9]" "$1" && grep -Eq "^issued [0-9-]{10}T[0-9:]{8}Z$" "$1" &&
     [ "$(grep -c "^host certa [0-9]*$" "$1")" = 1 ] && [ "$(grep -c "^host certb [0-9]*$" "$1")" = 1 ] && [ "$(grep -c "^host " "$1")" = 2 ]' _ "$t/roster.txt"
check "  ... certb's response installed it: cert_dir/loncapaRoster.pem, mode 0644, same roster" bash -c \
    '[ "$(stat -c %a "$1/loncapaRoster.pem")" = 644 ] && cmp "$1/loncapaRoster.pem" "$2/roster.pem"' _ "$B" "$t/ca"
check "  ... certa's (older) roster lists certa" bash -c \
    'openssl cms -verify -binary -inform PEM -in "$1/loncapaRoster.pem" -CAfile "$2" -purpose any 2>/dev/null | grep -q "^host certa "' _ "$A" "$t/ca/ca.pem"
serial1=$(sed -n 's/^serial //p' "$t/roster.txt")
mkdir -p "$t/rosters"
check "sign-response --roster-only writes OUT/loncapaRoster.pem" "$scripts/sign-response" --ca-dir "$t/ca" --roster-only --out-dir "$t/rosters"
roster_text "$t/rosters/loncapaRoster.pem" "$t/ca/ca.pem" >"$t/roster2.txt" || true
check "  ... signed, a larger serial, the same hosts" bash -c \
    '[ "$(sed -n "s/^serial //p" "$1")" -gt "$3" ] && diff <(grep "^host" "$1") <(grep "^host" "$2")' _ "$t/roster2.txt" "$t/roster.txt" "$serial1"
check "make-cluster-ca: a second (foreign) CA" "$scripts/make-cluster-ca" --ca-dir "$t/ca2" --name "other CA"
check "  ... its roster" "$scripts/sign-response" --ca-dir "$t/ca2" --roster-only --out-dir "$t/ca2"
refuses "a roster from a foreign CA does not verify against the cluster CA" \
    openssl cms -verify -binary -inform PEM -in "$t/ca2/loncapaRoster.pem" -CAfile "$t/ca/ca.pem" -purpose any -out /dev/null
# The response script refuses a roster that does not verify (swapped for the foreign one).
awk -v f="$t/ca2/loncapaRoster.pem" '
    /^lonlink_response_roster\(\)/ { print; getline; print; while ((getline l < f) > 0) print l; skip = 1; next }
    skip && /^LONLINK_PEM_END$/ { skip = 0 }
    !skip { print }' "$RB" >"$t/foreign-roster.response.sh"
refuses "a response whose roster is signed by another CA refuses" bash "$t/foreign-roster.response.sh" --config "$t/b/lonlink.yaml" --no-reload
cp "$t/rosters/loncapaRoster.pem" "$B/loncapaRoster.pem"
check "an older response keeps the newer roster installed" bash "$RB" --config "$t/b/lonlink.yaml" --no-reload
cp "$t/last.log" "$t/kept.log"
check "  ... said so, file unchanged" bash -c 'grep -q "kept .*loncapaRoster.pem" "$1" && cmp "$2/loncapaRoster.pem" "$3"' _ "$t/kept.log" "$B" "$t/rosters/loncapaRoster.pem"
rm -f "$B/loncapaRoster.pem"
cp "$t/rosters/loncapaRoster.pem" "$t/roster-target.copy"
ln -s "$t/rosters/loncapaRoster.pem" "$B/loncapaRoster.pem"
check "a symlink at cert_dir/loncapaRoster.pem is replaced, not written through" bash "$RB" --config "$t/b/lonlink.yaml" --no-reload
check "  ... now a regular file; the symlink's target untouched" bash -c '[ -f "$1/loncapaRoster.pem" ] && [ ! -L "$1/loncapaRoster.pem" ] && cmp "$2" "$3"' _ "$B" "$t/rosters/loncapaRoster.pem" "$t/roster-target.copy"

mkdir -p "$t/a/run" "$t/b/run"
"$scripts/loncontrol" status --config "$t/b/lonlink.yaml" >"$t/status-b.txt" 2>&1 || true
check "loncontrol status (certb: roster lists certa, own certificate): allow_insecure: false can now be set" \
    grep -q "allow_insecure: false can now be set" "$t/status-b.txt"
"$scripts/loncontrol" status --config "$t/a/lonlink.yaml" >"$t/status-a.txt" 2>&1 || true
check "loncontrol status (certa: its older roster lacks certb): certb is trust on first use" \
    grep -q "neither on the CA roster nor pinned: certb" "$t/status-a.txt"

# Key made again after the request: the old response must not install.
rm -f "$A/lonhostkey.pem"
check "request_ssl_key.sh makes a new certa key" "$scripts/request_ssl_key.sh" --config "$t/a/lonlink.yaml"
check "  ... it differs from the first one" bash -c '! cmp -s "$1" "$2"' _ "$A/lonhostkey.pem" "$t/a.key.1"
refuses "certa.response.sh with a certificate not matching the local key refuses" bash "$RA" --config "$t/a/lonlink.yaml" --no-reload
check "  ... installed certificate untouched" cmp "$A/lonhostcert.pem" "$t/a.cert.before"

tap_summary
