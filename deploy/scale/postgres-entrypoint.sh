#!/bin/sh
# Entrypoint of the scale lab's PostgreSQL (Dockerfile.postgres: Debian's
# postgresql-15): a cluster in the data volume on first start, a role and a
# database `gridlink`, then the server in the foreground as user postgres.
#
# Lab only: the replicas connect without a password from the compose
# network (the port is not published). With real data, use scram-sha-256
# or client certificates and sslmode=verify-full (README "Scaling out").
set -eu
bin=/usr/lib/postgresql/15/bin
data=/var/lib/postgresql/data
install -d -o postgres -g postgres -m 0700 "$data"
install -d -o postgres -g postgres /run/postgresql
as_pg() { runuser -u postgres -- "$@"; }
if [ ! -s "$data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$data" --auth-local=trust --auth-host=reject -U postgres >/dev/null
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '*'
max_connections = 50
CONF
    cat >"$data/pg_hba.conf" <<HBA
local all all trust
host gridlink gridlink samenet trust
HBA
    as_pg "$bin/pg_ctl" -D "$data" -o "-c listen_addresses=" -w start >/dev/null
    as_pg psql -q -c "CREATE ROLE gridlink LOGIN" -c "CREATE DATABASE gridlink OWNER gridlink"
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
fi
exec runuser -u postgres -- "$bin/postgres" -D "$data"
