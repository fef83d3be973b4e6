//! The `[bridge]` table of the configuration file, typed: every key is a
//! `gridlink bridge` flag with `-` written `_` (a test walks the flags and
//! the keys and pairs them), unknown keys are refused, and flags override
//! the file key by key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::options::{BridgeOptions, DEFAULT_CONFIRM_WAIT};
use crate::durable::OutboxOptions;
use crate::grid::{TopicSelection, DEFAULT_MAX_PAYLOAD};
use crate::iodef::{Redaction, ValidationLevel};
use crate::rolie::poll::openpgp::CsafKey;
use crate::rolie::poll::{PollOrigin, PollSource};
use crate::rolie::{AuthorFrom, RolieConfig, TopicSettings};
use crate::sink::SinkConfig;

/// `topics`: a list of topic names, or a table of per-topic settings whose
/// keys are the topics (`[bridge.topics.incidents] title = "…"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TopicsKey {
    /// `topics = ["incidents", "indicators"]`.
    Names(Vec<String>),
    /// `[bridge.topics.NAME]` tables (see [`TopicSettings`]).
    Settings(BTreeMap<String, TopicSettings>),
}

/// Deserialises an optional value through its `FromStr`.
fn parsed<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    Option::<String>::deserialize(d)?
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .transpose()
}

/// Deserialises a list through each element's `FromStr`.
fn parsed_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    Option::<Vec<String>>::deserialize(d)?
        .map(|v| {
            v.into_iter()
                .map(|s| s.parse().map_err(serde::de::Error::custom))
                .collect()
        })
        .transpose()
}

macro_rules! bridge_keys {
    ($( $(#[$meta:meta])* $name:ident: $ty:ty, )*) => {
        /// The `[bridge]` table, and `gridlink bridge`'s flags in the same
        /// shape (every field optional: unset means "not said here").
        #[derive(Debug, Default, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct BridgeFile {
            $( $(#[$meta])* pub $name: Option<$ty>, )*
        }

        impl BridgeFile {
            /// `self`'s settings, and `other`'s where `self` has none
            /// (flags `.or(file)`).
            pub fn or(self, other: BridgeFile) -> BridgeFile {
                BridgeFile { $( $name: self.$name.or(other.$name), )* }
            }
        }
    };
}

bridge_keys! {
    /// `listen = "127.0.0.1:8080"`.
    listen: std::net::SocketAddr,
    /// `store = "/var/lib/gridlink/bridge.sqlite"` (default: STATE_DIR/bridge.sqlite),
    /// or `store = "postgres://user@host/db"`: replicas sharing one PostgreSQL.
    store: PathBuf,
    /// `topics = ["incidents"]` or `[bridge.topics.incidents]` tables.
    topics: TopicsKey,
    /// `all_iodef = true`: every IODEF topic the service offers.
    all_iodef: bool,
    /// `omit = ["Contact/Email"]`: left out of POSTed and polled documents.
    omit: Vec<String>,
    /// `share = ["public", "green"]`: only what these audiences may see.
    share: Vec<String>,
    /// `public_url = "https://rolie.example.org"`.
    public_url: String,
    /// `tls_cert = "cert.pem"`.
    tls_cert: PathBuf,
    /// `tls_key = "key.pem"`.
    tls_key: PathBuf,
    /// `client_ca = "clients.pem"`: client certificates required.
    client_ca: PathBuf,
    /// `write_token_file = "tokens.txt"`: tokens that may write and read
    /// (`TOKEN` or `TOKEN topic1,topic2` a line).
    write_token_file: PathBuf,
    /// `read_token_file = "readers.txt"`: read-only tokens (same format);
    /// setting it makes reads need a token.
    read_token_file: PathBuf,
    /// `read_requires_token = true`.
    read_requires_token: bool,
    /// `allow_insecure_http = true`.
    allow_insecure_http: bool,
    /// `poll = ["https://feed.example/rolie/feeds/x=mirror"]` (also `[[source]]` tables).
    #[serde(default, deserialize_with = "parsed_list")]
    poll: Vec<PollSource>,
    /// `poll_csaf = ["https://psirt.example/.well-known/csaf/provider-metadata.json=advisories"]`.
    #[serde(default, deserialize_with = "parsed_list")]
    poll_csaf: Vec<PollSource>,
    /// `csaf_key = ["https://psirt.example/.well-known/csaf/provider-metadata.json=/etc/gridlink/psirt.asc"]`:
    /// OpenPGP keys (files, or pinned fingerprints of listed keys) whose
    /// signature each advisory of that `poll_csaf` source must carry.
    #[serde(default, deserialize_with = "parsed_list")]
    csaf_key: Vec<CsafKey>,
    /// `poll_allow = ["https://cdn.example.org"]`: origins pollers may
    /// fetch from besides each feed's own.
    #[serde(default, deserialize_with = "parsed_list")]
    poll_allow: Vec<PollOrigin>,
    /// `poll_interval = 60` (seconds).
    poll_interval: u64,
    /// `outbox_max = 10000`.
    outbox_max: usize,
    /// `confirm_wait = 10` (seconds).
    confirm_wait: u64,
    /// `catch_up_page = 100`.
    catch_up_page: u32,
    /// `validate = "strict"`: POSTed and polled documents.
    #[serde(default, deserialize_with = "parsed")]
    validate: ValidationLevel,
    /// `ingest_validate = "basic"`: documents from the grid.
    #[serde(default, deserialize_with = "parsed")]
    ingest_validate: ValidationLevel,
    /// `max_body = 1048576` (bytes).
    max_body: usize,
    /// `request_timeout_secs = 20`.
    request_timeout_secs: u64,
    /// `page_size = 100` (entries per feed page).
    page_size: usize,
    /// `archive_block_size = 100`.
    archive_block_size: u64,
    /// `server_threads = 2` (0: the process's runtime).
    server_threads: usize,
    /// `max_connections = 10000`.
    max_connections: usize,
    /// `max_connections_per_ip = 64`.
    max_connections_per_ip: usize,
    /// `http2_max_concurrent_streams = 100`.
    http2_max_concurrent_streams: u32,
    /// `default_information_type = "incident"`.
    default_information_type: String,
    /// `author = "gridlink"`.
    author: String,
    /// `author_from = "repository"`.
    author_from: AuthorFrom,
    /// `workspace_title = "…"`.
    workspace_title: String,
}

impl BridgeFile {
    /// The ROLIE server's settings: [`RolieConfig`]'s defaults, then these.
    pub fn rolie(&self) -> RolieConfig {
        let mut r = RolieConfig::default();
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { r.$f = v; } )* };
        }
        set!(
            listen,
            read_requires_token,
            max_body,
            request_timeout_secs,
            page_size,
            max_connections,
            max_connections_per_ip,
            http2_max_concurrent_streams,
            allow_insecure_http,
            default_information_type,
            author,
            author_from,
            workspace_title
        );
        r.public_url = self.public_url.clone();
        r.tls_cert = self.tls_cert.clone();
        r.tls_key = self.tls_key.clone();
        r.client_ca = self.client_ca.clone();
        r.write_token_file = self.write_token_file.clone();
        r.read_token_file = self.read_token_file.clone();
        r.archive_block_size = self.archive_block_size;
        r.server_threads = self.server_threads;
        if let Some(TopicsKey::Settings(t)) = &self.topics {
            r.topics = t.clone();
        }
        r
    }

    /// Which topics: named, all IODEF ones, or none (a pure poller).
    pub fn selection(&self, polls: bool) -> Option<TopicSelection> {
        match (&self.topics, self.all_iodef) {
            (_, Some(true)) => Some(TopicSelection::AllIodef),
            (Some(TopicsKey::Names(n)), _) if !n.is_empty() => {
                Some(TopicSelection::Named(n.clone()))
            }
            (Some(TopicsKey::Settings(t)), _) if !t.is_empty() => {
                Some(TopicSelection::Named(t.keys().cloned().collect()))
            }
            // A pure poller: serves nothing of its own.
            _ if polls => Some(TopicSelection::Named(Vec::new())),
            _ => None,
        }
    }

    /// What `leave out` asks for.
    pub fn redaction(&self) -> Result<Redaction, String> {
        let mut r = Redaction::new();
        for p in self.omit.iter().flatten() {
            r = r.omit(p).map_err(|e| format!("omit {e}"))?;
        }
        if let Some(s) = self.share.as_ref().filter(|s| !s.is_empty()) {
            r = r.share(s.iter().map(String::as_str))?;
        }
        Ok(r)
    }

    /// The bridge's options, with `[[sink]]` and `[[source]]` tables
    /// added; `state_dir` holds the pollers' state. `None` when no topic
    /// and no poll source is named.
    pub fn options(
        &self,
        sinks: Vec<SinkConfig>,
        poll_sources: Vec<PollSource>,
        state_dir: &std::path::Path,
    ) -> Result<Option<BridgeOptions>, String> {
        let mut poll = self.poll.clone().unwrap_or_default();
        poll.extend(poll_sources);
        let poll_csaf = self.poll_csaf.clone().unwrap_or_default();
        let Some(topics) = self.selection(!poll.is_empty() || !poll_csaf.is_empty()) else {
            return Ok(None);
        };
        Ok(Some(BridgeOptions {
            topics,
            rolie: self.rolie(),
            ingest_validation: self.ingest_validate.unwrap_or(ValidationLevel::Basic),
            publish_validation: self.validate.unwrap_or(ValidationLevel::Strict),
            max_payload: DEFAULT_MAX_PAYLOAD,
            redaction: self.redaction()?,
            poll,
            poll_csaf,
            csaf_keys: self.csaf_key.clone().unwrap_or_default(),
            poll_allow: self.poll_allow.clone().unwrap_or_default(),
            poll_interval: Duration::from_secs(self.poll_interval.unwrap_or(60).max(1)),
            state_dir: state_dir.join("poll"),
            outbox: OutboxOptions {
                max: self
                    .outbox_max
                    .unwrap_or(crate::durable::DEFAULT_OUTBOX_MAX),
                ..Default::default()
            },
            confirm_wait: self
                .confirm_wait
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_CONFIRM_WAIT),
            catch_up_page: self
                .catch_up_page
                .unwrap_or(crate::durable::CATCH_UP_PAGE)
                .max(2),
            sinks,
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flags override the file key by key; the file fills the rest.
    #[test]
    fn flags_override_the_file() {
        let file: BridgeFile = toml::from_str(
            "listen = \"127.0.0.1:9000\"\npoll_interval = 5\noutbox_max = 7\ntopics = [\"a\"]",
        )
        .unwrap();
        let flags = BridgeFile {
            poll_interval: Some(60),
            ..Default::default()
        };
        let both = flags.or(file);
        // An explicitly given default still wins over the file.
        assert_eq!(both.poll_interval, Some(60));
        assert_eq!(both.outbox_max, Some(7));
        assert_eq!(both.rolie().listen.port(), 9000);
        assert!(matches!(both.selection(false), Some(TopicSelection::Named(n)) if n == ["a"]));
    }

    /// The repository's access keys reach its settings.
    #[test]
    fn read_tokens_and_per_address_cap() {
        let file: BridgeFile =
            toml::from_str("read_token_file = \"readers.txt\"\nmax_connections_per_ip = 8")
                .unwrap();
        let r = file.rolie();
        assert_eq!(
            r.read_token_file.as_deref(),
            Some(std::path::Path::new("readers.txt"))
        );
        assert!(r.reads_need_token());
        assert_eq!(r.max_connections_per_ip, 8);
        assert_eq!(BridgeFile::default().rolie().max_connections_per_ip, 64);
    }

    /// Per-topic settings tables name the topics too.
    #[test]
    fn topic_settings_tables() {
        let file: BridgeFile = toml::from_str(
            "[topics.incidents]\ntitle = \"Incidents\"\n[topics.ioc]\ninformation_type = \"indicator\"",
        )
        .unwrap();
        assert!(
            matches!(file.selection(false), Some(TopicSelection::Named(n)) if n == ["incidents", "ioc"])
        );
        assert_eq!(
            file.rolie().topics["incidents"].title.as_deref(),
            Some("Incidents")
        );
    }

    /// Unknown keys and bad values are refused with the key's name.
    #[test]
    fn unknown_keys_refused() {
        let e = toml::from_str::<BridgeFile>("listn = \"127.0.0.1:1\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("listn"), "{e}");
        let e = toml::from_str::<BridgeFile>("validate = \"sloppy\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sloppy") || e.contains("validate"), "{e}");
        let e = toml::from_str::<BridgeFile>("poll = [\"no-topic\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("poll"), "{e}");
    }
}
