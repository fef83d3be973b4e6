//! `gridlink bridge`: the ROLIE repository fed by the grid and feeding it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use gridlink::bridge::{Bridge, BridgeOptions};
use gridlink::grid::{TopicSelection, DEFAULT_MAX_PAYLOAD};
use gridlink::iodef::ValidationLevel;
use gridlink::rolie::RolieConfig;
use gridlink::store::Store;

use super::{open_grid, Global};

/// `bridge` options; each also works as a key of the config file's
/// `[bridge]` table (e.g. `listen = "127.0.0.1:8080"`, `topics = ["incidents"]`).
#[derive(Args, Debug)]
pub struct BridgeArgs {
    /// Address to serve HTTP(S) on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// SQLite store [default: STATE_DIR/bridge.sqlite].
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Topics to bridge (repeatable).
    #[arg(long = "topic")]
    pub topics: Vec<String>,
    /// What to leave out of documents POSTed or polled before they are
    /// published.
    #[command(flatten)]
    pub redact: super::publish::RedactArgs,
    /// Bridge every IODEF topic the service offers.
    #[arg(long, conflicts_with = "topics")]
    pub all_iodef: bool,
    /// External base URL used in links (e.g. https://rolie.example.org).
    #[arg(long)]
    pub public_url: Option<String>,
    /// TLS certificate chain (PEM) for HTTPS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates issued by this CA (PEM).
    #[arg(long)]
    pub client_ca: Option<PathBuf>,
    /// Bearer tokens allowed to POST/DELETE, one per line.
    #[arg(long)]
    pub write_token_file: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (not recommended).
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Poll a remote ROLIE/Atom feed and publish its new entries to TOPIC (repeatable).
    #[arg(long = "poll", value_name = "URL=TOPIC")]
    pub poll: Vec<gridlink::rolie::poll::PollSource>,
    /// Let pollers fetch entry content and follow redirects to ORIGIN
    /// (https://host[:port]) besides each feed's own origin (repeatable).
    #[arg(long = "poll-allow", value_name = "ORIGIN")]
    pub poll_allow: Vec<gridlink::rolie::poll::PollOrigin>,
    /// Seconds between two polls of a feed.
    #[arg(long, default_value_t = 60)]
    pub poll_interval: u64,
    /// Most documents the publish outbox may hold while the broker is
    /// unreachable (POSTs beyond it get 503).
    #[arg(long, default_value_t = gridlink::durable::DEFAULT_OUTBOX_MAX)]
    pub outbox_max: usize,
    /// Seconds a POST waits for the broker's confirmation before it is
    /// answered 202 Accepted (the document stays queued and is sent later).
    #[arg(long, default_value_t = gridlink::bridge::DEFAULT_CONFIRM_WAIT.as_secs())]
    pub confirm_wait: u64,
    /// Items per catch-up request. Catch-up asks for the newest page
    /// first and, when that does not reach back to what was delivered, lists
    /// the item ids and fetches older items a page at a time: memory stays
    /// bounded by the page. A page larger than what the topics keep fetches
    /// each topic in one request (faster on Prosody, memory grows with the
    /// topic: about 18x the documents' size).
    #[arg(long, default_value_t = gridlink::durable::CATCH_UP_PAGE, value_parser = clap::value_parser!(u32).range(2..))]
    pub catch_up_page: u32,
    /// Validation of POSTed and polled documents: strict, basic, off.
    #[arg(long, default_value = "strict", value_parser = |s: &str| s.parse::<ValidationLevel>())]
    pub validate: ValidationLevel,
    /// Validation of documents arriving from the grid before they are
    /// stored and served: basic (default: tolerate other publishers'
    /// schema slips), strict, off.
    #[arg(long, default_value = "basic", value_parser = |s: &str| s.parse::<ValidationLevel>())]
    pub ingest_validate: ValidationLevel,
}

/// Runs `gridlink bridge`.
pub async fn run(g: &Global, a: BridgeArgs) -> anyhow::Result<ExitCode> {
    let conn = g.connection()?;
    let mut table = g.file()?.bridge.unwrap_or_default();
    // Keys of the [bridge] table that are not the HTTP server's.
    let file_store = table
        .remove("store")
        .and_then(|v| v.as_str().map(PathBuf::from));
    let file_topics: Vec<String> = table
        .remove("topics")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    let file_all = table.remove("all_iodef").and_then(|v| v.as_bool());
    let file_poll: Vec<gridlink::rolie::poll::PollSource> = table
        .remove("poll")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(String::from))
        .map(|s| {
            s.parse()
                .map_err(|e: String| anyhow::anyhow!("[bridge] poll: {e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let file_poll_allow: Vec<gridlink::rolie::poll::PollOrigin> = table
        .remove("poll_allow")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(String::from))
        .map(|s| {
            s.parse()
                .map_err(|e: String| anyhow::anyhow!("[bridge] poll_allow: {e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let file_poll_interval = table
        .remove("poll_interval_secs")
        .and_then(|v| v.as_integer())
        .and_then(|i| u64::try_from(i).ok());
    let mut rolie: RolieConfig = toml::Value::Table(table)
        .try_into()
        .context("invalid [bridge] table in the config file")?;
    if let Some(l) = a.listen {
        rolie.listen = l;
    }
    if a.public_url.is_some() {
        rolie.public_url = a.public_url;
    }
    if a.tls_cert.is_some() {
        rolie.tls_cert = a.tls_cert;
        rolie.tls_key = a.tls_key;
    }
    if a.client_ca.is_some() {
        rolie.client_ca = a.client_ca;
    }
    if a.write_token_file.is_some() {
        rolie.write_token_file = a.write_token_file;
    }
    rolie.allow_insecure_http |= a.allow_insecure_http;
    if let Some(t) = &rolie.write_token_file {
        gridlink::store::files::warn_if_shared(t, "write token file");
    }
    let topics = if a.all_iodef || (a.topics.is_empty() && file_all == Some(true)) {
        TopicSelection::AllIodef
    } else if !a.topics.is_empty() {
        TopicSelection::Named(a.topics)
    } else if !file_topics.is_empty() {
        TopicSelection::Named(file_topics)
    } else if !a.poll.is_empty() || !file_poll.is_empty() {
        TopicSelection::Named(Vec::new()) // a pure poller: serves nothing of its own
    } else {
        anyhow::bail!("name the topics to bridge: --topic NODE (repeatable) or --all-iodef");
    };
    // Refuse an unsafe or inconsistent listener before joining the grid:
    // the user learns about it at once, and nothing was subscribed for a
    // bridge that cannot serve.
    rolie.check()?;
    let store_path = a
        .store
        .or(file_store)
        .unwrap_or_else(|| conn.state_dir.join("bridge.sqlite"));
    if let Some(dir) = store_path.parent() {
        gridlink::store::files::create_private_dir(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let store = Store::open(&store_path)
        .with_context(|| format!("cannot open the store {}", store_path.display()))?;
    let grid = open_grid(g).await?;
    let bridge = Bridge::start(
        grid,
        store,
        BridgeOptions {
            topics,
            rolie,
            ingest_validation: a.ingest_validate,
            publish_validation: a.validate,
            max_payload: DEFAULT_MAX_PAYLOAD,
            redaction: a.redact.redaction()?,
            poll: if a.poll.is_empty() { file_poll } else { a.poll },
            poll_allow: if a.poll_allow.is_empty() {
                file_poll_allow
            } else {
                a.poll_allow
            },
            poll_interval: std::time::Duration::from_secs(
                if a.poll_interval != 60 {
                    a.poll_interval
                } else {
                    file_poll_interval.unwrap_or(60)
                }
                .max(1),
            ),
            state_dir: conn.state_dir.join("poll"),
            outbox: gridlink::durable::OutboxOptions {
                max: a.outbox_max,
                ..Default::default()
            },
            confirm_wait: std::time::Duration::from_secs(a.confirm_wait),
            catch_up_page: a.catch_up_page,
        },
    )
    .await?;
    eprintln!(
        "gridlink bridge: serving ROLIE on {} (service document: /rolie/servicedocument), store {}",
        bridge.local_addr(),
        store_path.display()
    );
    bridge
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}
