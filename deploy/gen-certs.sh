#!/bin/sh
# Makes a throwaway CA and a server certificate for the gridlink compose lab:
#
#   ca.pem          the CA certificate: gridlink's --ca-file
#   server.pem      server certificate + CA (chain) for Prosody
#   server.key      its private key
#
# The server certificate names xmpp.grid.test and pubsub.xmpp.grid.test (the
# XMPP domain and the pubsub component), plus `prosody` and `localhost`.
# The CA key is deleted once the server certificate is signed: nothing else
# can ever be signed by this CA. Delete the directory (or pass --force) to
# start over.
#
# Usage: deploy/gen-certs.sh [--force] [OUT_DIR]   (default: deploy/prosody/certs)
# Needs only openssl and a POSIX shell: runs on the host or in the compose
# `certs` service. Idempotent: keeps certificates that are still valid.
set -eu

force=0
if [ "${1:-}" = "--force" ]; then
    force=1
    shift
fi
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/prosody/certs}
domain=${GRIDLINK_XMPP_DOMAIN:-xmpp.grid.test}
names="$domain pubsub.$domain prosody localhost"
days=825

say() { printf 'gen-certs: %s\n' "$*"; }
die() {
    printf 'gen-certs: ERROR: %s\n' "$*" >&2
    exit 1
}

command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install openssl)"
mkdir -p "$out" || die "cannot create $out"

# Still good: all files present, the chain verifies, valid for 7 more days,
# and the key belongs to the certificate.
if [ "$force" -eq 0 ] && [ -s "$out/ca.pem" ] && [ -s "$out/server.pem" ] && [ -s "$out/server.key" ] &&
    openssl verify -CAfile "$out/ca.pem" "$out/server.pem" >/dev/null 2>&1 &&
    openssl x509 -in "$out/server.pem" -noout -checkend 604800 >/dev/null 2>&1 &&
    [ "$(openssl x509 -in "$out/server.pem" -noout -pubkey | openssl sha256)" = \
        "$(openssl pkey -in "$out/server.key" -pubout | openssl sha256)" ]; then
    say "certificates in $out are valid; keeping them (--force makes new ones)"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 077

san=""
for n in $names; do
    san="${san:+$san,}DNS:$n"
done

cat >"$tmp/ca.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = gridlink lab CA
O = gridlink lab (throwaway)
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF

cat >"$tmp/server.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

say "making a CA and a certificate for: $names"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca.key" 2>/dev/null ||
    die "openssl genpkey (CA key) failed"
openssl req -new -x509 -config "$tmp/ca.cnf" -key "$tmp/ca.key" -sha256 -days "$days" \
    -out "$tmp/ca.pem" || die "openssl req (CA certificate) failed"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/server.key" 2>/dev/null ||
    die "openssl genpkey (server key) failed"
openssl req -new -key "$tmp/server.key" -subj "/CN=$domain" -out "$tmp/server.csr" ||
    die "openssl req (server CSR) failed"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -CAcreateserial -CAserial "$tmp/ca.srl" -sha256 -days "$days" \
    -extfile "$tmp/server.ext" -out "$tmp/server.crt" 2>/dev/null ||
    die "openssl x509 (signing the server certificate) failed"
openssl verify -CAfile "$tmp/ca.pem" "$tmp/server.crt" >/dev/null ||
    die "the new server certificate does not verify against the new CA"
cat "$tmp/server.crt" "$tmp/ca.pem" >"$tmp/server.pem"

# Certificates are public; the key stays 0600 (Prosody's entrypoint copies it).
chmod 0644 "$tmp/ca.pem" "$tmp/server.pem"
chmod 0600 "$tmp/server.key"
for f in ca.pem server.pem server.key; do
    if ! { cp -p "$tmp/$f" "$out/$f.new" && mv -f "$out/$f.new" "$out/$f"; }; then
        die "cannot write $out/$f"
    fi
done
# Run as root in a container on a bind mount: hand the files to the owner of
# the directory, so that the user who owns the checkout can read and delete them.
if [ "$(id -u)" -eq 0 ]; then
    owner=$(stat -c %u:%g "$out" 2>/dev/null || echo 0:0)
    if [ "$owner" != "0:0" ]; then
        chown "$owner" "$out/ca.pem" "$out/server.pem" "$out/server.key" || true
    fi
fi
say "wrote $out/ca.pem, server.pem, server.key (valid $days days)"
