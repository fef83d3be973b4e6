#!/bin/sh
# Entrypoint of the scale lab's ejabberd nodes (Dockerfile.ejabberd: Debian's
# ejabberd 23.01): installs the lab certificate and the cluster's Erlang
# cookie, starts ejabberd as node ejabberd@HOSTNAME, then either creates the
# lab accounts (the first node) or joins the first node's cluster
# (GRIDLINK_JOIN=ejabberd@ejabberd1), and says so in /run/ejabberd/ready
# (the healthcheck).
#
#   /run/gridlink-certs/{server.pem,server.key}   from deploy/gen-certs.sh
#   /run/secrets/erlang_cookie                    shared by every node
#   /run/secrets/<user>_password                  one file per account
#   GRIDLINK_ACCOUNTS   accounts to create on the first node
#   GRIDLINK_XMPP_DOMAIN                          (default: xmpp.grid.test)
set -eu

say() { printf 'gridlink-ejabberd: %s\n' "$*"; }
die() {
    printf 'gridlink-ejabberd: ERROR: %s\n' "$*" >&2
    exit 1
}

domain=${GRIDLINK_XMPP_DOMAIN:-xmpp.grid.test}
node=ejabberd@$(hostname)
ctl() { ejabberdctl --node "$node" "$@"; }

src=/run/gridlink-certs
dst=/etc/ejabberd/gridlink-certs
i=0
while [ ! -s "$src/server.pem" ] || [ ! -s "$src/server.key" ]; do
    i=$((i + 1))
    [ "$i" -le 30 ] || die "no $src/server.pem and server.key after 30 s: run deploy/gen-certs.sh (compose service certs)"
    sleep 1
done
mkdir -p "$dst"
cp "$src/server.pem" "$src/server.key" "$dst/"
cp /gridlink/ejabberd.yml /etc/ejabberd/ejabberd.yml
chown -R ejabberd:ejabberd "$dst" /etc/ejabberd/ejabberd.yml
chmod 0600 "$dst/server.key"

# Every node of a cluster has the same cookie (HOME of user ejabberd).
install -d -o ejabberd -g ejabberd /run/ejabberd /var/log/ejabberd /var/lib/ejabberd
rm -f /run/ejabberd/ready
cookie=/var/lib/ejabberd/.erlang.cookie
tr -d '\r\n' </run/secrets/erlang_cookie >"$cookie"
chown ejabberd:ejabberd "$cookie"
chmod 0400 "$cookie"

ctl foreground &
pid=$!
trap 'ctl stop >/dev/null 2>&1; wait "$pid"; exit 0' TERM INT

wait_status() {
    i=0
    until ctl status >/dev/null 2>&1; do
        i=$((i + 1))
        kill -0 "$pid" 2>/dev/null || die "ejabberd exited"
        [ "$i" -le 120 ] || die "ejabberd $node not running after 120 s"
        sleep 1
    done
}
wait_status
say "$node running"

if [ -n "${GRIDLINK_JOIN:-}" ]; then
    # join_cluster copies the first node's tables here and restarts
    # ejabberd (not the Erlang VM) on this node.
    i=0
    until ctl join_cluster "$GRIDLINK_JOIN"; do
        i=$((i + 1))
        [ "$i" -le 30 ] || die "could not join $GRIDLINK_JOIN"
        sleep 2
    done
    wait_status
    ctl list_cluster | grep -q "$GRIDLINK_JOIN" || die "$GRIDLINK_JOIN is not in this node's cluster"
    say "$node joined $GRIDLINK_JOIN: $(ctl list_cluster | tr '\n' ' ')"
else
    for user in ${GRIDLINK_ACCOUNTS:-}; do
        f=/run/secrets/${user}_password
        [ -r "$f" ] || die "no password file $f for account $user"
        pw=$(head -n1 "$f" | tr -d '\r')
        ctl register "$user" "$domain" "$pw" >/dev/null 2>&1 ||
            ctl change_password "$user" "$domain" "$pw" >/dev/null ||
            die "cannot create account $user@$domain"
        say "account $user@$domain ready"
    done
fi
touch /run/ejabberd/ready
wait "$pid"
