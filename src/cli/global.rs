//! What every command shares: the connection options ([`Global`]),
//! logging, and opening the grid with errors a user can act on.

use std::path::PathBuf;

use anyhow::Context;
use clap::builder::TypedValueParser;
use clap::{Args, ValueEnum};
use tracing_subscriber::prelude::*;

use gridlink::config::{Config, FileConfig, Overrides, Secret, StreamManagement};

/// Help heading of the options that say how to reach and log in to the grid.
pub const CONNECTION: &str = "Connection";
/// Help heading of the options every command has.
pub const GENERAL: &str = "General";

/// Options every command that talks to the grid shares.
#[derive(Args, Debug)]
pub struct Global {
    /// Account JID, e.g. controller@grid.example.
    #[arg(long, env = "GRIDLINK_JID", global = true, help_heading = CONNECTION)]
    pub jid: Option<String>,
    /// Password (visible to other local users in `ps`; prefer --password-file or GRIDLINK_PASSWORD).
    #[arg(long, env = "GRIDLINK_PASSWORD", global = true, help_heading = CONNECTION, hide_env_values = true)]
    pub password: Option<String>,
    /// File holding the password (one line).
    #[arg(long, env = "GRIDLINK_PASSWORD_FILE", global = true, help_heading = CONNECTION)]
    pub password_file: Option<PathBuf>,
    /// Server HOST:PORT [default: the JID's domain, port 5222 (5223 with --direct-tls)];
    /// repeatable for the nodes of a broker cluster: the first is used, the others are
    /// failed over to, in turn, when it cannot be reached.
    #[arg(
        long,
        env = "GRIDLINK_SERVER",
        value_delimiter = ',',
        global = true, help_heading = CONNECTION
    )]
    pub server: Vec<String>,
    /// Extra trusted CA certificates (PEM), added to the system's.
    #[arg(long, env = "GRIDLINK_CA_FILE", global = true, help_heading = CONNECTION)]
    pub ca_file: Option<PathBuf>,
    /// Name the server certificate must carry [default: the JID's domain].
    #[arg(long, env = "GRIDLINK_TLS_NAME", global = true, help_heading = CONNECTION)]
    pub tls_name: Option<String>,
    /// TLS from the first byte (XEP-0368) instead of STARTTLS.
    #[arg(long, env = "GRIDLINK_DIRECT_TLS", global = true, help_heading = CONNECTION)]
    pub direct_tls: bool,
    /// No TLS at all; only to a loopback address; never with PLAIN.
    #[arg(long, env = "GRIDLINK_INSECURE_PLAINTEXT", global = true, help_heading = CONNECTION)]
    pub insecure_plaintext: bool,
    /// Client certificate chain (PEM) for the TLS handshake; logs in with
    /// SASL EXTERNAL when the server offers it (no password needed).
    #[arg(long, env = "GRIDLINK_CLIENT_CERT", global = true, help_heading = CONNECTION)]
    pub client_cert: Option<PathBuf>,
    /// Private key (PEM) for --client-cert.
    #[arg(long, env = "GRIDLINK_CLIENT_KEY", global = true, help_heading = CONNECTION)]
    pub client_key: Option<PathBuf>,
    /// Certificate revocation list (PEM or DER) for the server's certificate;
    /// repeatable. When given, the certificate must be covered by a current CRL
    /// of its issuer and not revoked.
    #[arg(
        long = "crl-file",
        env = "GRIDLINK_CRL_FILES",
        value_delimiter = ':',
        global = true, help_heading = CONNECTION
    )]
    pub crl_files: Vec<PathBuf>,
    /// Pin the server's key: base64 SHA-256 of its SubjectPublicKeyInfo
    /// (`sha256/` prefix optional); repeatable. Checked in addition to the
    /// certificate's validation.
    #[arg(
        long = "pin-sha256",
        env = "GRIDLINK_PIN_SHA256",
        value_delimiter = ',',
        global = true, help_heading = CONNECTION
    )]
    pub pin_sha256: Vec<String>,
    /// Pubsub service JID [default: discovered on the server].
    #[arg(long, env = "GRIDLINK_PUBSUB", global = true, help_heading = CONNECTION)]
    pub pubsub: Option<String>,
    /// Directory for state (store, cursors) [default: the platform's data dir].
    #[arg(long, env = "GRIDLINK_STATE_DIR", global = true, help_heading = GENERAL)]
    pub state_dir: Option<PathBuf>,
    /// Seconds to wait for each XMPP request.
    #[arg(long, env = "GRIDLINK_IQ_TIMEOUT", global = true, help_heading = CONNECTION)]
    pub iq_timeout: Option<u64>,
    /// With --all-iodef: seconds between looks for IODEF topics created
    /// since (0: only on each new session) [default: 300].
    #[arg(long, env = "GRIDLINK_REDISCOVER", global = true, help_heading = CONNECTION)]
    pub rediscover_every: Option<u64>,
    /// XEP-0198 stream management (acks, resumption after a short loss):
    /// `auto` is off for `subscribe` with a cursor and for `bridge`, which
    /// catch up from the topics' items after any new session and so spare
    /// the broker a copy of every notification, and for `discover`, `items`
    /// and `topic`, which make their requests and leave; on for `publish`
    /// and everything else.
    #[arg(
        long,
        env = "GRIDLINK_STREAM_MANAGEMENT",
        global = true,
        help_heading = CONNECTION,
        value_parser = clap::builder::PossibleValuesParser::new(StreamManagement::NAMES)
            .try_map(|s| s.parse::<StreamManagement>())
    )]
    pub stream_management: Option<StreamManagement>,
    /// TOML config file: the connection keys spelled with `_`, plus
    /// `[bridge]`, `[[sink]]` and `[[source]]` tables; every key is shown,
    /// commented, in gridlink.example.toml.
    #[arg(long, env = "GRIDLINK_CONFIG", global = true, help_heading = GENERAL)]
    pub config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, env = "GRIDLINK_LOG_FORMAT", global = true, help_heading = GENERAL, value_enum)]
    pub log_format: Option<LogFormat>,
    /// More logging (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = GENERAL)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, help_heading = GENERAL)]
    pub quiet: bool,
}

/// Log output format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Global {
    /// The file config (if any) under flags/env.
    pub fn file(&self) -> anyhow::Result<FileConfig> {
        match &self.config {
            Some(p) => Ok(FileConfig::load(p)?),
            None => Ok(FileConfig::default()),
        }
    }

    /// Builds the connection configuration.
    pub fn connection(&self) -> anyhow::Result<Config> {
        let file = self.file()?;
        let o = Overrides {
            jid: self.jid.clone(),
            password: self.password.clone().map(Secret::new),
            password_file: self.password_file.clone(),
            server: self.server.first().cloned(),
            failover_servers: self.server.iter().skip(1).cloned().collect(),
            ca_file: self.ca_file.clone(),
            tls_name: self.tls_name.clone(),
            direct_tls: self.direct_tls.then_some(true),
            insecure_plaintext: self.insecure_plaintext.then_some(true),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            crl_files: (!self.crl_files.is_empty()).then(|| self.crl_files.clone()),
            pin_sha256: (!self.pin_sha256.is_empty()).then(|| self.pin_sha256.clone()),
            pubsub: self.pubsub.clone(),
            state_dir: self.state_dir.clone(),
            iq_timeout_secs: self.iq_timeout,
            rediscover_secs: self.rediscover_every,
            stream_management: self.stream_management,
        };
        Ok(Config::resolve(o, &file)?)
    }
}

/// Sets up logging on stderr.
pub fn init_logging(g: &Global) {
    let file_format = g.file().ok().and_then(|f| f.log_format);
    let json = match g.log_format {
        Some(f) => f == LogFormat::Json,
        None => file_format.as_deref() == Some("json"),
    };
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    // RUST_LOG, when set, refines the -v/-q level.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},xmpp=warn")));
    let fmt = tracing_subscriber::fmt::layer()
        // Colours only for a person at a terminal, never in files or pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let fmt = if json {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    tracing_subscriber::registry()
        .with(filter)
        // Whatever RUST_LOG says: the raw XML stream never reaches a log.
        .with(tracing_subscriber::filter::filter_fn(|m| {
            !is_wire_capture(m.target())
        }))
        .with(fmt)
        .init();
}

/// Log targets that carry the raw XMPP stream, SASL exchange included
/// (tokio-xmpp's `xmlstream::capture` "SEND"/"RECV" records and its
/// parser's event dumps). Their trace records are compiled out too (the
/// `log` features in Cargo.toml); this is the second wall, for a build where
/// another crate lifts that bound.
fn is_wire_capture(target: &str) -> bool {
    target.starts_with("tokio_xmpp::xmlstream")
}

/// Opens the grid, retrying while the server is down or unreachable (for
/// commands with queued work: the queue is safe on disk meanwhile). Wrong
/// credentials or certificates still fail at once.
pub async fn open_grid_retrying(g: &Global, why: &str) -> anyhow::Result<gridlink::Grid> {
    let cfg = g.connection()?;
    let who = cfg.jid.to_bare().to_string();
    let mut attempt = 0u32;
    loop {
        match gridlink::Grid::connect(cfg.clone()).await {
            Ok(grid) => return Ok(grid),
            Err(e) if e.is_transient() => {
                attempt += 1;
                // The session layer's own reconnect schedule (with jitter).
                let delay = gridlink::xmpp::backoff(attempt, cfg.reconnect_max_delay);
                eprintln!("warning: cannot join the grid as {who} yet ({e}); {why}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot join the grid as {who}"));
            }
        }
    }
}

/// Opens the grid, with the context a user needs when it fails.
pub async fn open_grid(g: &Global) -> anyhow::Result<gridlink::Grid> {
    connect(g.connection()?).await
}

/// Opens the grid for a command that follows topics with a cursor
/// (`subscribe`, `bridge`): `--stream-management auto` is off there
/// ([`StreamManagement::for_follower`]): the follower catches up from the
/// topics' items after any new session, and the broker is spared a copy of
/// every notification it sends.
pub async fn open_follower_grid(g: &Global) -> anyhow::Result<gridlink::Grid> {
    let mut cfg = g.connection()?;
    cfg.stream_management = cfg.stream_management.for_follower();
    connect(cfg).await
}

/// Opens the grid for a command that makes its requests and leaves
/// (`discover`, `items`, `topic …`): `--stream-management auto` is off there
/// ([`StreamManagement::for_one_shot`]): a lost connection fails the command
/// with its error, and the broker is spared a copy of every answer.
pub async fn open_one_shot_grid(g: &Global) -> anyhow::Result<gridlink::Grid> {
    let mut cfg = g.connection()?;
    cfg.stream_management = cfg.stream_management.for_one_shot();
    connect(cfg).await
}

async fn connect(cfg: Config) -> anyhow::Result<gridlink::Grid> {
    let who = cfg.jid.to_bare().to_string();
    gridlink::Grid::connect(cfg)
        .await
        .with_context(|| format!("cannot join the grid as {who}"))
}
