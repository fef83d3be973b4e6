//! Connection settings, from three layers: a TOML file, `GRIDLINK_*`
//! environment variables, and command-line flags — later layers win.
//!
//! The binary parses flags and environment with clap (which already gives
//! "flag over env"); this module adds the file underneath and turns the result
//! into a validated [`Config`]. Keeping the merge here, not in the CLI, lets
//! library users build the same `Config` from their own sources.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
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

/// The `[connection]`-level keys of the TOML file (same names as the flags).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `jid = "user@domain"`.
    pub jid: Option<String>,
    /// `password = "…"` (prefer `password_file`).
    pub password: Option<String>,
    /// `password_file = "/run/secrets/xmpp"`.
    pub password_file: Option<PathBuf>,
    /// `server = "host:port"`.
    pub server: Option<String>,
    /// `ca_file = "ca.pem"`.
    pub ca_file: Option<PathBuf>,
    /// `tls_name = "xmpp.example"`.
    pub tls_name: Option<String>,
    /// `direct_tls = true`.
    pub direct_tls: Option<bool>,
    /// `insecure_plaintext = true` (loopback only).
    pub insecure_plaintext: Option<bool>,
    /// `client_cert = "cert.pem"`.
    pub client_cert: Option<PathBuf>,
    /// `client_key = "key.pem"`.
    pub client_key: Option<PathBuf>,
    /// `crl_files = ["issuer.crl"]`.
    pub crl_files: Option<Vec<PathBuf>>,
    /// `pin_sha256 = ["base64…"]`.
    pub pin_sha256: Option<Vec<String>>,
    /// `pubsub = "pubsub.example"`.
    pub pubsub: Option<String>,
    /// `state_dir = "/var/lib/gridlink"`.
    pub state_dir: Option<PathBuf>,
    /// `log_format = "json"`.
    pub log_format: Option<String>,
    /// `iq_timeout_secs = 30`.
    pub iq_timeout_secs: Option<u64>,
    /// `rediscover_secs = 300` (0: only on new sessions).
    pub rediscover_secs: Option<u64>,
    /// `[bridge]` table, read by the bridge command.
    pub bridge: Option<toml::Table>,
}

impl FileConfig {
    /// Reads and parses a TOML config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

/// Values from flags and environment (already merged by the CLI parser);
/// `None` means "not given", so the file's value is used.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--jid` / `GRIDLINK_JID`.
    pub jid: Option<String>,
    /// `--password` / `GRIDLINK_PASSWORD`.
    pub password: Option<Secret>,
    /// `--password-file` / `GRIDLINK_PASSWORD_FILE`.
    pub password_file: Option<PathBuf>,
    /// `--server` / `GRIDLINK_SERVER`.
    pub server: Option<String>,
    /// `--ca-file` / `GRIDLINK_CA_FILE`.
    pub ca_file: Option<PathBuf>,
    /// `--tls-name` / `GRIDLINK_TLS_NAME`.
    pub tls_name: Option<String>,
    /// `--direct-tls` / `GRIDLINK_DIRECT_TLS`.
    pub direct_tls: Option<bool>,
    /// `--insecure-plaintext` / `GRIDLINK_INSECURE_PLAINTEXT`.
    pub insecure_plaintext: Option<bool>,
    /// `--client-cert` / `GRIDLINK_CLIENT_CERT`.
    pub client_cert: Option<PathBuf>,
    /// `--client-key` / `GRIDLINK_CLIENT_KEY`.
    pub client_key: Option<PathBuf>,
    /// `--crl-file` (repeatable) / `GRIDLINK_CRL_FILES` (a path list, `:`-separated).
    pub crl_files: Option<Vec<PathBuf>>,
    /// `--pin-sha256` (repeatable) / `GRIDLINK_PIN_SHA256` (comma-separated).
    pub pin_sha256: Option<Vec<String>>,
    /// `--pubsub` / `GRIDLINK_PUBSUB`.
    pub pubsub: Option<String>,
    /// `--state-dir` / `GRIDLINK_STATE_DIR`.
    pub state_dir: Option<PathBuf>,
    /// `--iq-timeout` / `GRIDLINK_IQ_TIMEOUT` (seconds).
    pub iq_timeout_secs: Option<u64>,
    /// `--rediscover-every` / `GRIDLINK_REDISCOVER` (seconds; 0: only on
    /// new sessions).
    pub rediscover_secs: Option<u64>,
}

impl Overrides {
    /// The `GRIDLINK_*` environment variables (the same names the CLI reads).
    pub fn from_env() -> Overrides {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let flag = |k: &str| var(k).map(|v| matches!(v.as_str(), "1" | "true" | "yes"));
        Overrides {
            jid: var("GRIDLINK_JID"),
            password: var("GRIDLINK_PASSWORD").map(Secret::new),
            password_file: var("GRIDLINK_PASSWORD_FILE").map(PathBuf::from),
            server: var("GRIDLINK_SERVER"),
            ca_file: var("GRIDLINK_CA_FILE").map(PathBuf::from),
            tls_name: var("GRIDLINK_TLS_NAME"),
            direct_tls: flag("GRIDLINK_DIRECT_TLS"),
            insecure_plaintext: flag("GRIDLINK_INSECURE_PLAINTEXT"),
            client_cert: var("GRIDLINK_CLIENT_CERT").map(PathBuf::from),
            client_key: var("GRIDLINK_CLIENT_KEY").map(PathBuf::from),
            crl_files: var("GRIDLINK_CRL_FILES").map(|v| std::env::split_paths(&v).collect()),
            pin_sha256: var("GRIDLINK_PIN_SHA256")
                .map(|v| v.split(',').map(|p| p.trim().to_string()).collect()),
            pubsub: var("GRIDLINK_PUBSUB"),
            state_dir: var("GRIDLINK_STATE_DIR").map(PathBuf::from),
            iq_timeout_secs: var("GRIDLINK_IQ_TIMEOUT").and_then(|v| v.parse().ok()),
            rediscover_secs: var("GRIDLINK_REDISCOVER").and_then(|v| v.parse().ok()),
        }
    }
}

impl Config {
    /// A configuration from `GRIDLINK_*` environment variables alone, for
    /// programs that embed gridlink (see `examples/`).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::resolve(Overrides::from_env(), &FileConfig::default())
    }

    /// Merges flags/env over the file and validates the result.
    pub fn resolve(o: Overrides, file: &FileConfig) -> Result<Config, ConfigError> {
        let jid_text = o
            .jid
            .or_else(|| file.jid.clone())
            .ok_or(ConfigError::Missing(
                "--jid (or GRIDLINK_JID, or `jid` in the config file)",
            ))?;
        let jid: Jid = jid_text.parse().map_err(|e| ConfigError::Invalid {
            setting: "jid",
            message: format!("{jid_text:?}: {e}"),
        })?;
        if jid.node().is_none() {
            return Err(ConfigError::Invalid {
                setting: "jid",
                message: format!("{jid_text:?} has no local part (expected user@domain)"),
            });
        }
        let client_cert = o.client_cert.or_else(|| file.client_cert.clone());
        let password = match (o.password, o.password_file) {
            (Some(p), _) => p,
            (None, Some(f)) => read_password_file(&f)?,
            (None, None) => match (&file.password, &file.password_file) {
                (Some(p), _) => Secret::new(p.clone()),
                (None, Some(f)) => read_password_file(f)?,
                // A client certificate alone is a credential (SASL EXTERNAL).
                (None, None) if client_cert.is_some() => Secret::new(""),
                (None, None) => {
                    return Err(ConfigError::Missing(
                        "a password (--password-file, GRIDLINK_PASSWORD or --password) or a client certificate (--client-cert and --client-key)",
                    ))
                }
            },
        };
        let mut cfg = Config::new(jid, password);
        if let Some(s) = o.server.or_else(|| file.server.clone()) {
            cfg.server = Some(parse_host_port(&s)?);
        }
        cfg.ca_file = o.ca_file.or_else(|| file.ca_file.clone());
        cfg.tls_name = o.tls_name.or_else(|| file.tls_name.clone());
        let direct = o.direct_tls.or(file.direct_tls).unwrap_or(false);
        let plain = o
            .insecure_plaintext
            .or(file.insecure_plaintext)
            .unwrap_or(false);
        cfg.tls_mode = match (direct, plain) {
            (true, true) => {
                return Err(ConfigError::Invalid {
                    setting: "direct-tls",
                    message: "--direct-tls and --insecure-plaintext exclude each other".into(),
                })
            }
            (true, false) => TlsMode::DirectTls,
            (false, true) => TlsMode::InsecurePlaintext,
            (false, false) => TlsMode::StartTls,
        };
        cfg.client_cert = client_cert;
        cfg.client_key = o.client_key.or_else(|| file.client_key.clone());
        if cfg.client_cert.is_some() != cfg.client_key.is_some() {
            return Err(ConfigError::Invalid {
                setting: "client-cert",
                message: "--client-cert and --client-key go together".into(),
            });
        }
        cfg.crl_files = o
            .crl_files
            .or_else(|| file.crl_files.clone())
            .unwrap_or_default();
        cfg.pin_sha256 = o
            .pin_sha256
            .or_else(|| file.pin_sha256.clone())
            .unwrap_or_default();
        if let Some(p) = o.pubsub.or_else(|| file.pubsub.clone()) {
            cfg.pubsub = Some(p.parse().map_err(|e| ConfigError::Invalid {
                setting: "pubsub",
                message: format!("{p:?}: {e}"),
            })?);
        }
        if let Some(d) = o.state_dir.or_else(|| file.state_dir.clone()) {
            cfg.state_dir = d;
        }
        if let Some(t) = o.iq_timeout_secs.or(file.iq_timeout_secs) {
            if t == 0 {
                return Err(ConfigError::Invalid {
                    setting: "iq-timeout",
                    message: "must be at least 1 second".into(),
                });
            }
            cfg.iq_timeout = Duration::from_secs(t);
        }
        if let Some(t) = o.rediscover_secs.or(file.rediscover_secs) {
            cfg.rediscover_every = (t > 0).then(|| Duration::from_secs(t));
        }
        Ok(cfg)
    }
}

fn read_password_file(path: &Path) -> Result<Secret, ConfigError> {
    crate::store::files::warn_if_shared(path, "password file");
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
        setting: "password-file",
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    // A trailing newline is an editor artefact, not part of the password.
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Overrides {
        Overrides {
            jid: Some("alice@localhost".into()),
            password: Some(Secret::new("pw")),
            ..Default::default()
        }
    }

    /// Flags win over the file; the file fills what flags leave open.
    #[test]
    fn flags_override_file() {
        let file: FileConfig = toml::from_str(
            "jid = \"bob@example.org\"\nserver = \"file.example:5999\"\ntls_name = \"x\"",
        )
        .unwrap();
        let mut o = base();
        o.server = Some("127.0.0.1:1234".into());
        let c = Config::resolve(o, &file).unwrap();
        assert_eq!(c.jid.to_string(), "alice@localhost");
        assert_eq!(c.server, Some(("127.0.0.1".into(), 1234)));
        assert_eq!(c.tls_name.as_deref(), Some("x"));
    }

    /// A client certificate alone is a credential (SASL EXTERNAL): no
    /// password needed, and the password stays empty. Without either, the
    /// error names both.
    #[test]
    fn client_certificate_instead_of_a_password() {
        let mut o = base();
        o.password = None;
        o.client_cert = Some("me.pem".into());
        o.client_key = Some("me.key".into());
        let c = Config::resolve(o, &FileConfig::default()).unwrap();
        assert_eq!(c.password.expose(), "");
        assert_eq!(c.client_cert.as_deref(), Some(Path::new("me.pem")));
        let mut o = base();
        o.password = None;
        let e = Config::resolve(o, &FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("client certificate"), "{e}");
    }

    /// Revocation lists and pins come from the file as lists; flags replace
    /// the file's list rather than adding to it.
    #[test]
    fn crl_files_and_pins_from_file_and_flags() {
        let file: FileConfig =
            toml::from_str("crl_files = [\"a.crl\", \"b.crl\"]\npin_sha256 = [\"sha256/AAAA\"]")
                .unwrap();
        let c = Config::resolve(base(), &file).unwrap();
        assert_eq!(
            c.crl_files,
            vec![PathBuf::from("a.crl"), PathBuf::from("b.crl")]
        );
        assert_eq!(c.pin_sha256, vec!["sha256/AAAA".to_string()]);
        let mut o = base();
        o.crl_files = Some(vec![PathBuf::from("c.crl")]);
        let c = Config::resolve(o, &file).unwrap();
        assert_eq!(c.crl_files, vec![PathBuf::from("c.crl")]);
        let none = Config::resolve(base(), &FileConfig::default()).unwrap();
        assert!(none.crl_files.is_empty() && none.pin_sha256.is_empty());
    }

    /// How often to look for new topics: five minutes by default, from the
    /// file or a flag (the flag wins), 0 for only on new sessions.
    #[test]
    fn rediscovery_interval() {
        let c = Config::resolve(base(), &FileConfig::default()).unwrap();
        assert_eq!(c.rediscover_every, Some(DEFAULT_REDISCOVER));
        let file: FileConfig = toml::from_str("rediscover_secs = 60").unwrap();
        let c = Config::resolve(base(), &file).unwrap();
        assert_eq!(c.rediscover_every, Some(Duration::from_secs(60)));
        let mut o = base();
        o.rediscover_secs = Some(0);
        let c = Config::resolve(o, &file).unwrap();
        assert_eq!(c.rediscover_every, None);
    }

    /// Unknown keys in the file are an error naming the key, not silently ignored.
    #[test]
    fn unknown_file_key_is_rejected() {
        let e = toml::from_str::<FileConfig>("jdi = \"x\"").unwrap_err();
        assert!(e.to_string().contains("jdi"), "{e}");
    }

    /// The password never shows up in debug output.
    #[test]
    fn secret_is_redacted() {
        let c = Config::resolve(base(), &FileConfig::default()).unwrap();
        assert!(!format!("{c:?}").contains("pw\""));
        assert!(format!("{c:?}").contains("Secret(***)"));
    }

    /// `password_file` loses its trailing newline.
    #[test]
    fn password_file_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\n").unwrap();
        let mut o = base();
        o.password = None;
        o.password_file = Some(p);
        let c = Config::resolve(o, &FileConfig::default()).unwrap();
        assert_eq!(c.password.expose(), "s3cret");
    }

    /// A JID without a local part cannot log in, so it is refused up front.
    #[test]
    fn domain_only_jid_is_rejected() {
        let mut o = base();
        o.jid = Some("localhost".into());
        let e = Config::resolve(o, &FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("no local part"), "{e}");
    }

    /// Host/port parsing with defaults and IPv6.
    #[test]
    fn host_port_forms() {
        assert_eq!(parse_host_port("h").unwrap(), ("h".into(), 5222));
        assert_eq!(parse_host_port("h:1").unwrap(), ("h".into(), 1));
        assert_eq!(parse_host_port("[::1]:5").unwrap(), ("::1".into(), 5));
        assert!(parse_host_port("h:0").is_err());
        assert!(parse_host_port("h:x").is_err());
    }

    /// Direct TLS and plaintext are contradictory.
    #[test]
    fn direct_and_plaintext_conflict() {
        let mut o = base();
        o.direct_tls = Some(true);
        o.insecure_plaintext = Some(true);
        assert!(Config::resolve(o, &FileConfig::default()).is_err());
    }
}
