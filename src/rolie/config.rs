//! The ROLIE server's settings (the `[rolie]` part of gridlink's TOML).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::ServeError;

/// Settings of the ROLIE HTTP server.
///
/// Every field has a default, so an empty table is a valid loopback-only,
/// read-only repository on `127.0.0.1:8080`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolieConfig {
    /// Address to listen on. A non-loopback address requires TLS
    /// (`tls_cert` + `tls_key`) unless `allow_insecure_http` is set.
    pub listen: SocketAddr,
    /// The externally visible base URL (scheme, host, optional path prefix),
    /// used in every link the documents carry, e.g.
    /// `https://rolie.example.org`. Default: derived from the bound address.
    pub public_url: Option<String>,
    /// PEM certificate chain for TLS. With `tls_key`, the server speaks
    /// HTTPS only (TLS 1.2 and 1.3, no 0-RTT).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates: when set, every client must present a
    /// certificate issued by one of them (RFC 8322 §5.3). Needs TLS.
    pub client_ca: Option<PathBuf>,
    /// File of bearer tokens allowed to write (POST, DELETE) and to read,
    /// one per line: `TOKEN` for every topic, or `TOKEN topic1,topic2` for
    /// those topics only; blank lines and `#` comments are ignored. Without
    /// it, writes get 403.
    pub write_token_file: Option<PathBuf>,
    /// File of read-only bearer tokens, in the same format as
    /// `write_token_file`: they may GET, never POST or DELETE. Setting it
    /// makes reads need a token (as `read_requires_token`).
    pub read_token_file: Option<PathBuf>,
    /// Require a bearer token (read or write) for reads as well
    /// (`/metrics` included, with a token for every topic); reads are then
    /// logged at info, with peer, method, path and status, like writes
    /// (RFC 8322 §9 audit).
    pub read_requires_token: bool,
    /// Largest accepted request body in bytes; larger POSTs get 413.
    pub max_body: usize,
    /// Seconds a client gets for each of: the TLS handshake, its request
    /// headers (the first request and every later one on a kept-alive
    /// connection, counted from the accept or the last answer, so an idle
    /// HTTP/1 or HTTP/2 connection is closed after it too), and a POST
    /// body. A client that is slower — or sends
    /// half a request and stalls — is answered 408 or disconnected, so
    /// stalled connections cannot pile up (slow-client defence).
    pub request_timeout_secs: u64,
    /// Entries per feed page (RFC 5005 paging).
    pub page_size: usize,
    /// Sequence numbers per archive block (RFC 5005 §4 archived feeds; see
    /// `rolie/archive.rs`): `/rolie/feeds/TOPIC/archive/N` holds the
    /// topic's entries stored as numbers `N*size+1 ..= (N+1)*size` of the
    /// store's one sequence, once the store has passed them. At most
    /// `page_size`, so that the feed's first page (the subscription
    /// document) always holds every entry not yet archived. Unset:
    /// `page_size`. Changing it (or, while unset, `page_size`) renumbers
    /// the archives, which costs clients a fresh walk, nothing else.
    pub archive_block_size: Option<u64>,
    /// Threads that serve HTTP, each with its own single-threaded runtime
    /// and its own `SO_REUSEPORT` socket on `listen` (nginx's worker
    /// model): a connection stays on the thread that accepted it. Unset:
    /// one per CPU. `0`: no threads of its own; the server runs on the
    /// runtime of the process (shared with the XMPP side), as before.
    pub server_threads: Option<usize>,
    /// Most connections open at once (all threads together); a connection
    /// beyond it is closed as soon as it is accepted, and counted in
    /// `/metrics` (`gridlink_http_connections_refused_total`). Keep it
    /// below the process's file descriptor limit (`ulimit -n`).
    pub max_connections: usize,
    /// Most connections open at once from one client address (an IPv6
    /// client by its /64), so one client cannot hold every slot of
    /// `max_connections`. Behind a reverse proxy every client has the
    /// proxy's address: raise it to `max_connections` there.
    pub max_connections_per_ip: usize,
    /// Most concurrent requests (streams) on one HTTP/2 connection
    /// (`SETTINGS_MAX_CONCURRENT_STREAMS`, RFC 9113 §6.5.2).
    pub http2_max_concurrent_streams: u32,
    /// Listen on a non-loopback address without TLS anyway.
    pub allow_insecure_http: bool,
    /// The information type of topics not listed in `topics` (`incident`).
    pub default_information_type: String,
    /// `atom:author` name of the repository and of items whose publisher is
    /// unknown.
    pub author: String,
    /// Whose name an entry's `atom:author` carries: the publishing
    /// account's bare JID (`publisher`, the default) or always `author`
    /// (`repository`), for repositories whose readers must not learn who
    /// in the grid published what (RFC 8322 §9: personal data).
    pub author_from: AuthorFrom,
    /// Title of the service document's workspace.
    pub workspace_title: String,
    /// Per-topic settings, by pubsub node name. Listed topics are served
    /// (as empty feeds) even before their first item arrives.
    pub topics: BTreeMap<String, TopicSettings>,
}

/// See [`RolieConfig::author_from`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorFrom {
    /// The publishing account's bare JID.
    #[default]
    Publisher,
    /// The repository's `author`.
    Repository,
}

/// Settings of one topic's collection.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicSettings {
    /// The `urn:ietf:params:rolie:category:information-type` term:
    /// `incident` for IODEF incident topics, `indicator` for indicator-only
    /// ones (ROLIE CSIRT draft). Default: `default_information_type`.
    pub information_type: Option<String>,
    /// The collection and feed title. Default: `IODEF topic <node>`.
    pub title: Option<String>,
    /// Title of the service-document workspace the collection appears in.
    /// Default: `workspace_title`. RFC 8322 §5.1.1 suggests separating
    /// collections with different access requirements (public, private)
    /// into different workspaces.
    pub workspace: Option<String>,
}

impl Default for RolieConfig {
    fn default() -> Self {
        RolieConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            tls_cert: None,
            tls_key: None,
            client_ca: None,
            write_token_file: None,
            read_token_file: None,
            read_requires_token: false,
            max_body: 1024 * 1024,
            request_timeout_secs: 20,
            page_size: 50,
            archive_block_size: None,
            server_threads: None,
            max_connections: 512,
            max_connections_per_ip: 64,
            http2_max_concurrent_streams: 100,
            allow_insecure_http: false,
            default_information_type: "incident".to_owned(),
            author: "gridlink".to_owned(),
            author_from: AuthorFrom::Publisher,
            workspace_title: "XMPP-Grid incidents".to_owned(),
            topics: BTreeMap::new(),
        }
    }
}

impl RolieConfig {
    /// The information-type term of `topic`.
    pub fn information_type(&self, topic: &str) -> &str {
        self.topics
            .get(topic)
            .and_then(|t| t.information_type.as_deref())
            .unwrap_or(&self.default_information_type)
    }

    /// The collection title of `topic`.
    pub fn title(&self, topic: &str) -> String {
        self.topics
            .get(topic)
            .and_then(|t| t.title.clone())
            .unwrap_or_else(|| format!("IODEF topic {topic}"))
    }

    /// The workspace title of `topic`.
    pub fn workspace(&self, topic: &str) -> &str {
        self.topics
            .get(topic)
            .and_then(|t| t.workspace.as_deref())
            .unwrap_or(&self.workspace_title)
    }

    /// Sequence numbers per archive block: [`archive_block_size`](Self::archive_block_size),
    /// else `page_size`.
    pub fn archive_block(&self) -> u64 {
        self.archive_block_size.unwrap_or(self.page_size as u64)
    }

    /// Whether reads need a bearer token: `read_requires_token`, or read
    /// tokens configured.
    pub fn reads_need_token(&self) -> bool {
        self.read_requires_token || self.read_token_file.is_some()
    }

    /// Whether TLS is configured.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    /// [`request_timeout_secs`](Self::request_timeout_secs) as a duration.
    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.request_timeout_secs)
    }

    /// How many server threads [`server_threads`](Self::server_threads)
    /// asks for (0: the caller's runtime).
    pub fn server_threads(&self) -> usize {
        self.server_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
        })
    }

    /// Checks what can be checked without touching the network or the file
    /// system: consistent TLS settings, a non-zero page size and timeout,
    /// and no plain HTTP on a non-loopback address unless
    /// `allow_insecure_http`. The bridge calls this before it joins the grid,
    /// so a refused listener is reported before anything else happens.
    pub fn check(&self) -> Result<(), ServeError> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ServeError::Config(
                "tls_cert and tls_key go together".into(),
            ));
        }
        if self.client_ca.is_some() && !self.tls() {
            return Err(ServeError::Config(
                "client_ca needs tls_cert and tls_key".into(),
            ));
        }
        if !self.tls() && !self.listen.ip().is_loopback() && !self.allow_insecure_http {
            return Err(ServeError::InsecureListen(self.listen));
        }
        if self.page_size == 0 {
            return Err(ServeError::Config("page_size must be at least 1".into()));
        }
        if self
            .archive_block_size
            .is_some_and(|b| b == 0 || b > self.page_size as u64)
        {
            // Above page_size, the first page could miss entries that are
            // in no archive yet, and a walk of prev-archive links would
            // not see them.
            return Err(ServeError::Config(format!(
                "archive_block_size must be between 1 and page_size ({})",
                self.page_size
            )));
        }
        if self.max_connections == 0 {
            return Err(ServeError::Config(
                "max_connections must be at least 1".into(),
            ));
        }
        if self.max_connections_per_ip == 0 {
            return Err(ServeError::Config(
                "max_connections_per_ip must be at least 1".into(),
            ));
        }
        if self.http2_max_concurrent_streams == 0 {
            return Err(ServeError::Config(
                "http2_max_concurrent_streams must be at least 1".into(),
            ));
        }
        if self.request_timeout_secs == 0 {
            return Err(ServeError::Config(
                "request_timeout_secs must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_and_unknown_fields() {
        let c: RolieConfig = toml::from_str(
            "listen = \"0.0.0.0:8443\"\n[topics.indicators]\ninformation_type = \"indicator\"\n",
        )
        .unwrap();
        assert_eq!(c.information_type("indicators"), "indicator");
        assert_eq!(c.information_type("other"), "incident");
        assert!(toml::from_str::<RolieConfig>("lisen = \"x\"").is_err());
    }

    /// The checks the bridge runs before joining the grid.
    #[test]
    fn check_refuses_unsafe_or_inconsistent_settings() {
        let ok = RolieConfig::default();
        assert!(ok.check().is_ok());
        assert_eq!(ok.request_timeout(), std::time::Duration::from_secs(20));
        let c = RolieConfig {
            listen: "0.0.0.0:8080".parse().unwrap(),
            ..RolieConfig::default()
        };
        assert!(matches!(c.check(), Err(ServeError::InsecureListen(_))));
        let c = RolieConfig {
            allow_insecure_http: true,
            ..c
        };
        assert!(c.check().is_ok());
        let c = RolieConfig {
            request_timeout_secs: 0,
            ..RolieConfig::default()
        };
        assert!(
            matches!(c.check(), Err(ServeError::Config(m)) if m.contains("request_timeout_secs"))
        );
        for size in [0, 51] {
            let c = RolieConfig {
                archive_block_size: Some(size),
                ..RolieConfig::default()
            };
            assert!(
                matches!(c.check(), Err(ServeError::Config(m)) if m.contains("archive_block_size"))
            );
        }
        let c: RolieConfig = toml::from_str("page_size = 7").unwrap();
        assert!(c.check().is_ok(), "unset: follows page_size");
        assert_eq!(c.archive_block(), 7);
        let c: RolieConfig = toml::from_str("archive_block_size = 5\npage_size = 7").unwrap();
        assert_eq!(c.archive_block(), 5);
        let c: RolieConfig = toml::from_str("request_timeout_secs = 3").unwrap();
        assert_eq!(c.request_timeout_secs, 3);
    }
}
