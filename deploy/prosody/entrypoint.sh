#!/bin/sh
# Entrypoint of the compose lab's Prosody (deploy/prosody/Dockerfile: Debian's
# prosody package; compose service `prosody`): installs the lab certificates,
# creates the lab accounts, then runs Prosody as user prosody.
#
#   /run/gridlink-certs/{server.pem,server.key}   from deploy/gen-certs.sh
#   /run/secrets/<user>_password                  one file per account
#   GRIDLINK_ACCOUNTS  accounts to create (default: "publisher subscriber")
#   GRIDLINK_XMPP_DOMAIN                          (default: xmpp.grid.test)
set -eu

say() { printf 'gridlink-prosody: %s\n' "$*"; }
die() {
    printf 'gridlink-prosody: ERROR: %s\n' "$*" >&2
    exit 1
}

src=/run/gridlink-certs
dst=/etc/prosody/gridlink-certs
domain=${GRIDLINK_XMPP_DOMAIN:-xmpp.grid.test}
accounts=${GRIDLINK_ACCOUNTS:-publisher subscriber}

# The `certs` service normally has finished; wait a little in case the compose
# implementation ignores `condition: service_completed_successfully`.
i=0
while [ ! -s "$src/server.pem" ] || [ ! -s "$src/server.key" ]; do
    i=$((i + 1))
    [ "$i" -le 30 ] || die "no $src/server.pem and server.key after 30 s: run deploy/gen-certs.sh (compose service certs)"
    sleep 1
done
# Copy, so that the key is owned by prosody and 0600 whoever owns the mount.
mkdir -p "$dst"
cp "$src/server.pem" "$dst/server.pem"
cp "$src/server.key" "$dst/server.key"
chown -R prosody:prosody "$dst"
chmod 0644 "$dst/server.pem"
chmod 0600 "$dst/server.key"
say "certificates installed in $dst"

# Debian's Prosody (and prosodyctl) want their runtime directory, owned by
# prosody: Prosody must not run as root.
install -d -o prosody -g prosody /run/prosody

# Accounts. `prosodyctl register` sets the password of an existing account
# too, so this is idempotent and follows changed secret files. The password
# goes through stdin, not argv.
for user in $accounts; do
    f=/run/secrets/${user}_password
    [ -r "$f" ] || die "no password file $f for account $user"
    pw=$(head -n1 "$f" | tr -d '\r')
    [ -n "$pw" ] || die "password file $f is empty"
    printf '%s\n%s\n' "$pw" "$pw" | prosodyctl register "$user" "$domain" >/dev/null ||
        die "prosodyctl register $user $domain failed"
    say "account $user@$domain ready"
done
# prosodyctl ran as root and switched to prosody, but make sure the data
# directory stays Prosody's.
chown -R prosody:prosody /var/lib/prosody 2>/dev/null || true

if [ "$#" -eq 0 ]; then
    set -- prosody -F
fi
exec runuser -u prosody -- "$@"
