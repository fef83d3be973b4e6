//! The layers under a [`Config`]: the TOML file ([`FileConfig`]) and the
//! flags and environment ([`Overrides`]), merged by [`Config::resolve`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tokio_xmpp::jid::Jid;

use super::connection::{parse_host_port, Config, ConfigError, Secret, StreamManagement, TlsMode};

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
    /// `server = "host:port"`, or a list `["a:5222", "b:5222"]`: the first,
    /// then the ones to fail over to ([`Config::failover_servers`]).
    #[serde(default, deserialize_with = "one_or_many")]
    pub server: Option<Vec<String>>,
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
    /// `stream_management = "auto"` (or `"on"`, `"off"`): XEP-0198.
    pub stream_management: Option<StreamManagement>,
    /// The `[bridge]` table: `gridlink bridge`'s flags as keys, read into
    /// [`BridgeFile`](crate::bridge::BridgeFile) by the bridge command (kept
    /// as a table here: the connection layer knows nothing of the bridge).
    pub bridge: Option<toml::Table>,
    /// `[[sink]]` tables ([`SinkConfig`](crate::sink::SinkConfig)): where
    /// the bridge sends the grid's events besides its store.
    pub sink: Option<Vec<toml::Table>>,
    /// `[[source]]` tables ([`SourceConfig`](crate::source::SourceConfig)):
    /// what the bridge feeds into the grid besides AtomPub POSTs.
    pub source: Option<Vec<toml::Table>>,
    /// The `[rid]` table ([`RidConfig`](crate::rid::RidConfig)): the RID (RFC 6545/6546)
    /// endpoint of `gridlink rid serve` and its `[[rid.peer]]`s.
    pub rid: Option<toml::Table>,
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
    /// `--server` / `GRIDLINK_SERVER`: the first server.
    pub server: Option<String>,
    /// Further `--server` flags (`GRIDLINK_SERVER` entries after the first,
    /// comma-separated): the servers to fail over to. Used only with
    /// `server`; together they replace the file's list.
    pub failover_servers: Vec<String>,
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
    /// `--stream-management` / `GRIDLINK_STREAM_MANAGEMENT` (auto, on, off).
    pub stream_management: Option<StreamManagement>,
}

impl Overrides {
    /// The `GRIDLINK_*` environment variables (the same names the CLI reads).
    pub fn from_env() -> Overrides {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let flag = |k: &str| var(k).map(|v| matches!(v.as_str(), "1" | "true" | "yes"));
        let servers: Vec<String> = var("GRIDLINK_SERVER")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default();
        Overrides {
            jid: var("GRIDLINK_JID"),
            password: var("GRIDLINK_PASSWORD").map(Secret::new),
            password_file: var("GRIDLINK_PASSWORD_FILE").map(PathBuf::from),
            server: servers.first().cloned(),
            failover_servers: servers.iter().skip(1).cloned().collect(),
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
            stream_management: var("GRIDLINK_STREAM_MANAGEMENT").and_then(|v| v.parse().ok()),
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
        let servers = match o.server {
            Some(first) => std::iter::once(first).chain(o.failover_servers).collect(),
            None => file.server.clone().unwrap_or_default(),
        };
        let mut servers = servers.iter().map(|s| parse_host_port(s));
        cfg.server = servers.next().transpose()?;
        cfg.failover_servers = servers.collect::<Result<_, _>>()?;
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
        if let Some(sm) = o.stream_management.or(file.stream_management) {
            cfg.stream_management = sm;
        }
        Ok(cfg)
    }
}

/// `server`: one string, or a list of them (not empty).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(d) {
        Ok(OneOrMany::One(s)) => Ok(Some(vec![s])),
        Ok(OneOrMany::Many(v)) if !v.is_empty() => Ok(Some(v)),
        Ok(OneOrMany::Many(_)) => Err(serde::de::Error::custom("an empty server list")),
        Err(_) => Err(serde::de::Error::custom(
            "expected \"host:port\" or a list [\"host:port\", …]",
        )),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::connection::DEFAULT_REDISCOVER;

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

    /// XEP-0198: `auto` by default (on for the library, off for a
    /// follower), `on`/`off` from the file or a flag (the flag wins); any
    /// other word is refused.
    #[test]
    fn stream_management_setting() {
        use crate::config::StreamManagement::{Auto, Off, On};
        let c = Config::resolve(base(), &FileConfig::default()).unwrap();
        assert_eq!(c.stream_management, Auto);
        assert!(Auto.negotiates() && On.negotiates() && !Off.negotiates());
        assert_eq!(Auto.for_follower(), Off);
        assert_eq!(On.for_follower(), On);
        let file: FileConfig = toml::from_str("stream_management = \"on\"").unwrap();
        let c = Config::resolve(base(), &file).unwrap();
        assert_eq!(c.stream_management.for_follower(), On);
        let mut o = base();
        o.stream_management = Some(Off);
        assert_eq!(Config::resolve(o, &file).unwrap().stream_management, Off);
        let bad = toml::from_str::<FileConfig>("stream_management = \"sometimes\"")
            .expect_err("an unknown value is refused");
        assert!(bad.to_string().contains("auto"), "{bad}");
        assert!("sometimes"
            .parse::<crate::config::StreamManagement>()
            .is_err());
    }

    /// `server` is one string or a list: the first is `server`, the rest
    /// are fail-over servers; `--server` flags replace the whole list; an
    /// empty list or a number is refused with what is expected.
    #[test]
    fn server_list_from_file_and_flags() {
        let one: FileConfig = toml::from_str("server = \"a:1\"").unwrap();
        let c = Config::resolve(base(), &one).unwrap();
        assert_eq!(c.server, Some(("a".into(), 1)));
        assert!(c.failover_servers.is_empty());
        let many: FileConfig = toml::from_str("server = [\"a:1\", \"b:2\", \"c\"]").unwrap();
        let c = Config::resolve(base(), &many).unwrap();
        assert_eq!(c.server, Some(("a".into(), 1)));
        assert_eq!(
            c.failover_servers,
            vec![("b".into(), 2), ("c".into(), 5222)]
        );
        assert_eq!(c.servers().len(), 3);
        let mut o = base();
        o.server = Some("x:7".into());
        o.failover_servers = vec!["y:8".into()];
        let c = Config::resolve(o, &many).unwrap();
        assert_eq!(c.servers(), vec![("x".into(), 7), ("y".into(), 8)]);
        for bad in ["server = []", "server = 5222"] {
            let e = toml::from_str::<FileConfig>(bad).unwrap_err();
            assert!(e.to_string().contains("server"), "{bad}: {e}");
        }
        let bad_entry: FileConfig = toml::from_str("server = [\"a:1\", \"b:0\"]").unwrap();
        assert!(Config::resolve(base(), &bad_entry).is_err());
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
