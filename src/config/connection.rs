//! One XMPP connection's settings, validated: [`Config`], and [`Secret`] for
//! what must never be printed.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use tokio_xmpp::jid::{BareJid, Jid};

/// A password or token: never printed, never logged.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How the TCP connection to the server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP upgraded with `<starttls/>` (RFC 6120 §5), the default. The
    /// upgrade is attempted even when not advertised (RFC 7590 §3.1).
    StartTls,
    /// TLS from the first byte (XEP-0368), usually port 5223.
    DirectTls,
    /// No TLS at all. Allowed only when explicitly asked for and only to a
    /// loopback address; PLAIN authentication is never used over it.
    InsecurePlaintext,
}

/// Whether a session negotiates XEP-0198 stream management (acks and
/// resumption) when the server offers it.
///
/// Resumption lets a session survive a short connection loss without losing
/// what was in flight; its price is paid by the broker on every stanza it
/// sends the session: Prosody 0.12 keeps a deep copy of each one until the
/// client acknowledges it and asks for acks as its buffers drain. For a
/// session that receives a stream of notifications that is most of the
/// broker's work per notification (measured in `BENCHMARKS.md`: 1.8× the
/// broker CPU of a session without it, and a fan-out to 50 such
/// subscribers reaching 0.54× of one to 50 without), and a grid's broker is
/// its bottleneck. A session that catches up from the topics' items after
/// every new session (the durable follower: `gridlink subscribe` with a
/// cursor, `gridlink bridge`) loses nothing without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum StreamManagement {
    /// The role decides: off for sessions that follow topics with a cursor
    /// (`gridlink subscribe` without `--no-cursor`, `gridlink bridge`) and
    /// for commands that make their requests and leave (`discover`,
    /// `items`, `topic …`); on for publishing and every other session,
    /// including the library's own
    /// [`Grid::connect`](crate::grid::Grid::connect) (see
    /// [`StreamManagement::for_follower`] and
    /// [`StreamManagement::for_one_shot`]).
    #[default]
    Auto,
    /// Negotiated whenever the server offers it.
    On,
    /// Never negotiated: a lost connection is a new session, after which
    /// followers catch up from the topics' items.
    Off,
}

impl StreamManagement {
    /// The words of the flag and the TOML key, in the order of the variants.
    pub const NAMES: [&'static str; 3] = ["auto", "on", "off"];

    /// What a session that follows topics with a cursor uses: `Auto`
    /// becomes `Off` (catch-up covers a new session, and the broker is spared
    /// a copy of every notification); an explicit choice stays.
    pub fn for_follower(self) -> StreamManagement {
        match self {
            StreamManagement::Auto => StreamManagement::Off,
            other => other,
        }
    }

    /// What a command that makes a few requests and leaves uses (`gridlink
    /// discover`, `items`, `topic …`): `Auto` becomes `Off`; an explicit
    /// choice stays. Resumption would only let such a command wait out a
    /// short loss instead of failing with the lost connection's error (the
    /// user runs it again); without it the broker does not keep a copy of
    /// every answer until it is acknowledged (an items page holds up to
    /// `--page` whole documents).
    pub fn for_one_shot(self) -> StreamManagement {
        match self {
            StreamManagement::Auto => StreamManagement::Off,
            other => other,
        }
    }

    /// Whether XEP-0198 is negotiated (`Auto` counts as on).
    pub fn negotiates(self) -> bool {
        self != StreamManagement::Off
    }
}

impl std::str::FromStr for StreamManagement {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(StreamManagement::Auto),
            "on" => Ok(StreamManagement::On),
            "off" => Ok(StreamManagement::Off),
            other => Err(format!("{other:?}: expected auto, on or off")),
        }
    }
}

/// The TOML key reads the same words as the flag ([`FromStr`](std::str::FromStr)).
impl TryFrom<String> for StreamManagement {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Everything needed to open a session with an XMPP server.
#[derive(Debug, Clone)]
pub struct Config {
    /// The account, e.g. `controller@grid.example` (a resource is added if absent).
    pub jid: Jid,
    /// The account's password; empty when there is none (a client
    /// certificate logs in with SASL EXTERNAL instead).
    pub password: Secret,
    /// Where to connect: host and port. `None` = the JID's domain, port 5222
    /// (5223 with direct TLS).
    pub server: Option<(String, u16)>,
    /// Further servers of the same service (the other nodes of a broker
    /// cluster), tried in this order after [`Config::server`]: by the first
    /// connection when a server cannot be reached, and round-robin when a
    /// connection is lost. Empty: only `server`.
    pub failover_servers: Vec<(String, u16)>,
    /// Extra trust anchors (PEM) added to the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The name the server certificate must carry, when it is not the JID's domain.
    pub tls_name: Option<String>,
    /// STARTTLS, direct TLS or (loopback only) plaintext.
    pub tls_mode: TlsMode,
    /// Client certificate chain (PEM) presented during the TLS handshake.
    pub client_cert: Option<PathBuf>,
    /// Private key (PEM) for `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Certificate revocation lists (PEM or DER) for the server's
    /// certificate (RFC 8600 §8.3.1). When any is given, the server's
    /// certificate must be covered by a current CRL of its issuer and not
    /// be revoked; empty = no revocation check.
    pub crl_files: Vec<PathBuf>,
    /// Pinned server keys (RFC 8600 §8.3.6): base64 SHA-256 of the
    /// certificate's SubjectPublicKeyInfo, optionally prefixed `sha256/`.
    /// Checked after, never instead of, the normal certificate validation;
    /// empty = no pinning.
    pub pin_sha256: Vec<String>,
    /// The pubsub service; `None` = discovered through XEP-0030.
    pub pubsub: Option<Jid>,
    /// Where gridlink keeps state (store, cursors, outbox).
    pub state_dir: PathBuf,
    /// Limit for the first connection (TCP, TLS, SASL, bind). A failure within
    /// it is reported instead of being retried forever.
    pub connect_timeout: Duration,
    /// Default limit for one IQ round trip.
    pub iq_timeout: Duration,
    /// Upper bound of the reconnect backoff.
    pub reconnect_max_delay: Duration,
    /// The most incoming messages (pubsub notifications) that may wait for
    /// a slow consumer; past it they are dropped and the consumer is told
    /// to catch up from the topics' items
    /// ([`SessionEvent::Lagged`](crate::xmpp::SessionEvent::Lagged)), which
    /// bounds the memory a stalled consumer can cost.
    pub event_queue: usize,
    /// How often a subscription to every IODEF topic
    /// ([`TopicSelection::AllIodef`](crate::grid::TopicSelection::AllIodef))
    /// looks for topics created since (XEP-0060 has no notification of node
    /// creation); `None`: only on each new session.
    pub rediscover_every: Option<Duration>,
    /// XEP-0198 stream management: see [`StreamManagement`].
    pub stream_management: StreamManagement,
}

/// The default of [`Config::rediscover_every`]: five minutes.
pub const DEFAULT_REDISCOVER: Duration = Duration::from_secs(300);

impl Config {
    /// A configuration with defaults for everything but the account.
    pub fn new(jid: Jid, password: Secret) -> Self {
        Config {
            jid,
            password,
            server: None,
            failover_servers: Vec::new(),
            ca_file: None,
            tls_name: None,
            tls_mode: TlsMode::StartTls,
            client_cert: None,
            client_key: None,
            crl_files: Vec::new(),
            pin_sha256: Vec::new(),
            pubsub: None,
            state_dir: default_state_dir(),
            connect_timeout: Duration::from_secs(10),
            iq_timeout: Duration::from_secs(30),
            reconnect_max_delay: Duration::from_secs(30),
            // A notification with an IODEF document is a few to tens of KB.
            event_queue: 4096,
            rediscover_every: Some(DEFAULT_REDISCOVER),
            stream_management: StreamManagement::Auto,
        }
    }

    /// Host and port to connect to, after defaults.
    pub fn server_addr(&self) -> (String, u16) {
        match &self.server {
            Some((h, p)) => (h.clone(), *p),
            None => {
                let port = if self.tls_mode == TlsMode::DirectTls {
                    5223
                } else {
                    5222
                };
                (self.jid.domain().to_string(), port)
            }
        }
    }

    /// Every server to try, in order: [`Config::server_addr`], then
    /// [`Config::failover_servers`].
    pub fn servers(&self) -> Vec<(String, u16)> {
        let mut all = vec![self.server_addr()];
        all.extend(self.failover_servers.iter().cloned());
        all
    }

    /// This configuration aimed at `server` alone (no fail-over): what one
    /// connection attempt uses.
    pub fn for_server(&self, server: (String, u16)) -> Config {
        Config {
            server: Some(server),
            failover_servers: Vec::new(),
            ..self.clone()
        }
    }

    /// The bare account JID.
    pub fn bare_jid(&self) -> BareJid {
        self.jid.to_bare()
    }
}

/// The platform's data directory for gridlink (e.g. `~/.local/share/gridlink`).
pub fn default_state_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("gridlink")
}

/// Errors in the configuration, each naming the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has unknown keys.
    #[error("invalid config file {path}: {message}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The parser's message (line, column, key).
        message: String,
    },
    /// A setting is missing.
    #[error("missing setting: {0}")]
    Missing(&'static str),
    /// A setting has a value that cannot be used.
    #[error("invalid {setting}: {message}")]
    Invalid {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// Parses `host:port`, `[v6]:port` or a bare host (port 5222).
pub fn parse_host_port(s: &str) -> Result<(String, u16), ConfigError> {
    let invalid = |m: &str| ConfigError::Invalid {
        setting: "server",
        message: format!("{s:?}: {m}"),
    };
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, tail) = rest.split_once(']').ok_or_else(|| invalid("missing ']'"))?;
        match tail.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if tail.is_empty() => (h, None),
            None => return Err(invalid("expected [ipv6]:port")),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err(invalid("empty host"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| invalid("port must be 1-65535"))?,
        None => 5222,
    };
    Ok((host.to_string(), port))
}
