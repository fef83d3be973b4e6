-- Prosody 0.12 for the gridlink compose lab (docker-compose.yml), mounted at
-- /etc/prosody/prosody.cfg.lua in the image of deploy/prosody/Dockerfile
-- (Debian bookworm's prosody package).
--
--   XMPP domain        xmpp.grid.test        (accounts: publisher, subscriber, bridge)
--   pubsub service     pubsub.xmpp.grid.test (publisher administers it)
--   c2s                5222 STARTTLS (required), 5223 direct TLS
--
-- Certificates come from deploy/gen-certs.sh (compose service `certs`);
-- deploy/prosody/entrypoint.sh copies them to /etc/prosody/gridlink-certs
-- and creates the accounts before Prosody starts.

-- Everything to the console: `docker-compose logs prosody`.
log = { { levels = { min = "info" }, to = "console" } }

-- IPv4 only: container networks often have no IPv6.
interfaces = { "*" }
c2s_ports = { 5222 }
c2s_direct_tls_ports = { 5223 }
-- No federation, no external components, no HTTP.
s2s_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco"; "ping";
	"smacks"; -- XEP-0198 stream management: gridlink resumes after a TCP cut
	"posix";
}
-- No server-to-server, and no offline message store (pubsub keeps the items).
modules_disabled = { "s2s"; "offline"; }

authentication = "internal_hashed"

-- SQL storage on SQLite (/var/lib/prosody/prosody.sqlite, in the prosody-data
-- volume). Not the default file ("internal") storage: with it every persistent
-- pubsub publish costs O(items already in the node) - measured: 100 sequential
-- publishes ~10 s with files, ~1 s with SQLite.
storage = "sql"
sql = { driver = "SQLite3", database = "prosody.sqlite" }

-- TLS everywhere; SCRAM over TLS, never PLAIN over plaintext.
ssl = {
	certificate = "/etc/prosody/gridlink-certs/server.pem";
	key = "/etc/prosody/gridlink-certs/server.key";
}
c2s_direct_tls_ssl = {
	certificate = "/etc/prosody/gridlink-certs/server.pem";
	key = "/etc/prosody/gridlink-certs/server.key";
}
certificates = "/etc/prosody/gridlink-certs"
c2s_require_encryption = true
allow_unencrypted_plain_auth = false
smacks_hibernation_time = 120

VirtualHost "xmpp.grid.test"

Component "pubsub.xmpp.grid.test" "pubsub"
	-- Prosody 0.12 lets only the service's admins create nodes.
	admins = { "publisher@xmpp.grid.test" }
	-- Default 256; the bridge catches up from the node's items.
	pubsub_max_items = 10000
