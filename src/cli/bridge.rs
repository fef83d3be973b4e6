//! `gridlink bridge`: the ROLIE repository fed by the grid and feeding it.
//! A preset of the router (`gridlink::bridge`): the grid's events go to the
//! store that the ROLIE feeds render, AtomPub POSTs and polled feeds go to
//! the grid; `[[sink]]` and `[[source]]` tables add more.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use gridlink::bridge::{Bridge, BridgeFile, TopicsKey};
use gridlink::iodef::ValidationLevel;
use gridlink::rolie::poll::PollSource;
use gridlink::rolie::AuthorFrom;
use gridlink::sink::SinkConfig;
use gridlink::source::SourceConfig;
use gridlink::store::Store;

use super::global::{open_follower_grid, Global};

/// `bridge` options; each is also a key of the config file's `[bridge]`
/// table, spelled with `_` (e.g. `listen = "127.0.0.1:8080"`,
/// `topics = ["incidents"]`). A flag overrides its key.
#[derive(Args, Debug)]
pub struct BridgeArgs {
    /// Address to serve HTTP(S) on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// SQLite store [default: STATE_DIR/bridge.sqlite], or
    /// postgres://USER@HOST/DB: one database several replicas share.
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
    /// Bearer tokens allowed to POST/DELETE and read, one per line
    /// (`TOKEN`, or `TOKEN topic1,topic2` for those topics only).
    #[arg(long)]
    pub write_token_file: Option<PathBuf>,
    /// Read-only bearer tokens, same format; reads then need a token.
    #[arg(long)]
    pub read_token_file: Option<PathBuf>,
    /// Require a token for reads as well (`/metrics` included).
    #[arg(long)]
    pub read_requires_token: bool,
    /// Serve plain HTTP on a non-loopback address (not recommended).
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Poll a remote ROLIE/Atom feed and publish its new entries to TOPIC (repeatable).
    #[arg(long = "poll", value_name = "URL=TOPIC")]
    pub poll: Vec<PollSource>,
    /// Poll a CSAF provider (its provider-metadata.json: ROLIE feeds or changes.csv)
    /// and publish its new advisories, hash-checked, to TOPIC (repeatable).
    #[arg(long = "poll-csaf", value_name = "URL=TOPIC")]
    pub poll_csaf: Vec<PollSource>,
    /// Require each advisory of the `--poll-csaf` source URL to carry a good
    /// OpenPGP signature (`.asc`) by KEY: a certificate file, or the
    /// fingerprint of a key its provider metadata lists in
    /// `public_openpgp_keys` (fetched from there) (repeatable).
    #[arg(long = "csaf-key", value_name = "URL=KEY")]
    pub csaf_key: Vec<gridlink::rolie::poll::openpgp::CsafKey>,
    /// Let pollers fetch entry content and follow redirects to ORIGIN
    /// (https://host[:port]) besides each feed's own origin (repeatable).
    #[arg(long = "poll-allow", value_name = "ORIGIN")]
    pub poll_allow: Vec<gridlink::rolie::poll::PollOrigin>,
    /// Seconds between two polls of a feed [default: 60].
    #[arg(long)]
    pub poll_interval: Option<u64>,
    /// Most documents the publish outbox may hold while the broker is
    /// unreachable (POSTs beyond it get 503) [default: 100000].
    #[arg(long)]
    pub outbox_max: Option<usize>,
    /// Seconds a POST waits for the broker's confirmation before it is
    /// answered 202 Accepted (the document stays queued and is sent later)
    /// [default: 10].
    #[arg(long)]
    pub confirm_wait: Option<u64>,
    /// Items per catch-up request [default: 100]. Catch-up asks for the
    /// newest page first and, when that does not reach back to what was
    /// delivered, lists the item ids and fetches older items a page at a
    /// time: memory stays bounded by the page. A page larger than what the
    /// topics keep fetches each topic in one request (faster on Prosody,
    /// memory grows with the topic: about 18x the documents' size).
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..))]
    pub catch_up_page: Option<u32>,
    /// Validation of POSTed and polled documents: strict (default), basic, off.
    #[arg(long, value_parser = |s: &str| s.parse::<ValidationLevel>())]
    pub validate: Option<ValidationLevel>,
    /// Validation of documents arriving from the grid before they are
    /// stored and served: basic (default: tolerate other publishers'
    /// schema slips), strict, off.
    #[arg(long, value_parser = |s: &str| s.parse::<ValidationLevel>())]
    pub ingest_validate: Option<ValidationLevel>,
    /// Largest accepted request body in bytes (larger POSTs get 413).
    #[arg(long)]
    pub max_body: Option<usize>,
    /// Seconds a client gets for its TLS handshake, each request head and a
    /// POST body (slow clients are cut off).
    #[arg(long)]
    pub request_timeout_secs: Option<u64>,
    /// Entries per feed page (RFC 5005 paging).
    #[arg(long)]
    pub page_size: Option<usize>,
    /// Sequence numbers per archive block (RFC 5005 §4) [default: page size].
    #[arg(long)]
    pub archive_block_size: Option<u64>,
    /// Threads that serve HTTP (0: the process's runtime) [default: one per CPU].
    #[arg(long)]
    pub server_threads: Option<usize>,
    /// Most HTTP connections open at once.
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Most HTTP connections open at once from one client address
    /// [default: 64].
    #[arg(long)]
    pub max_connections_per_ip: Option<usize>,
    /// Most concurrent streams on one HTTP/2 connection.
    #[arg(long)]
    pub http2_max_concurrent_streams: Option<u32>,
    /// Information type of topics without their own setting [default: incident].
    #[arg(long)]
    pub default_information_type: Option<String>,
    /// `atom:author` name of the repository.
    #[arg(long)]
    pub author: Option<String>,
    /// Whose name an entry's `atom:author` carries: publisher (default) or repository.
    #[arg(long, value_parser = parse_author_from)]
    pub author_from: Option<AuthorFrom>,
    /// Title of the service document's workspace.
    #[arg(long)]
    pub workspace_title: Option<String>,
}

fn parse_author_from(s: &str) -> Result<AuthorFrom, String> {
    match s {
        "publisher" => Ok(AuthorFrom::Publisher),
        "repository" => Ok(AuthorFrom::Repository),
        other => Err(format!("{other:?}: expected publisher or repository")),
    }
}

impl BridgeArgs {
    /// The flags in the shape of the `[bridge]` table (unset: not given).
    fn as_file(&self) -> BridgeFile {
        let nonempty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        BridgeFile {
            listen: self.listen,
            store: self.store.clone(),
            topics: nonempty(&self.topics).map(TopicsKey::Names),
            all_iodef: self.all_iodef.then_some(true),
            omit: nonempty(&self.redact.omit),
            share: nonempty(&self.redact.share),
            public_url: self.public_url.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            client_ca: self.client_ca.clone(),
            write_token_file: self.write_token_file.clone(),
            read_token_file: self.read_token_file.clone(),
            read_requires_token: self.read_requires_token.then_some(true),
            allow_insecure_http: self.allow_insecure_http.then_some(true),
            poll: (!self.poll.is_empty()).then(|| self.poll.clone()),
            poll_csaf: (!self.poll_csaf.is_empty()).then(|| self.poll_csaf.clone()),
            csaf_key: (!self.csaf_key.is_empty()).then(|| self.csaf_key.clone()),
            poll_allow: (!self.poll_allow.is_empty()).then(|| self.poll_allow.clone()),
            poll_interval: self.poll_interval,
            outbox_max: self.outbox_max,
            confirm_wait: self.confirm_wait,
            catch_up_page: self.catch_up_page,
            validate: self.validate,
            ingest_validate: self.ingest_validate,
            max_body: self.max_body,
            request_timeout_secs: self.request_timeout_secs,
            page_size: self.page_size,
            archive_block_size: self.archive_block_size,
            server_threads: self.server_threads,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            http2_max_concurrent_streams: self.http2_max_concurrent_streams,
            default_information_type: self.default_information_type.clone(),
            author: self.author.clone(),
            author_from: self.author_from,
            workspace_title: self.workspace_title.clone(),
        }
    }
}

/// Reads `[[sink]]` or `[[source]]` tables into their types (unknown keys
/// refused), naming the table and its position when one is wrong.
fn typed<T: serde::de::DeserializeOwned>(
    tables: Option<Vec<toml::Table>>,
    what: &str,
) -> anyhow::Result<Vec<T>> {
    tables
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            toml::Value::Table(t).try_into().with_context(|| {
                format!("invalid {what} table number {} in the config file", i + 1)
            })
        })
        .collect()
}

/// Runs `gridlink bridge`.
pub async fn run(g: &Global, a: BridgeArgs) -> anyhow::Result<ExitCode> {
    let conn = g.connection()?;
    let file = g.file()?;
    let from_file: BridgeFile = match file.bridge {
        Some(t) => toml::Value::Table(t)
            .try_into()
            .context("invalid [bridge] table in the config file")?,
        None => BridgeFile::default(),
    };
    let settings = a.as_file().or(from_file);
    let sinks = typed::<SinkConfig>(file.sink, "[[sink]]")?;
    let mut polls = Vec::new();
    let mut rid = Vec::new();
    for s in typed::<SourceConfig>(file.source, "[[source]]")? {
        match s {
            SourceConfig::Poll { url, topic } => polls.push(
                format!("{url}={topic}")
                    .parse::<PollSource>()
                    .map_err(|e| anyhow::anyhow!("[[source]] poll: {e}"))?,
            ),
            // The `[rid]` table's keys, overridden by the source table's.
            SourceConfig::Rid(table) => {
                let mut merged = file.rid.clone().unwrap_or_default();
                merged.extend(table);
                let c: gridlink::rid::RidConfig = toml::Value::Table(merged)
                    .try_into()
                    .context("[[source]] type = \"rid\" (with the [rid] table's keys)")?;
                rid.push(c);
            }
        }
    }
    let mut opts = settings
        .options(sinks, polls, &conn.state_dir)
        .map_err(|e| anyhow::anyhow!("[bridge] {e}"))?
        .context("name the topics to bridge: --topic NODE (repeatable) or --all-iodef")?;
    opts.rid = rid;
    // Refuse an unsafe or inconsistent listener before joining the grid:
    // the user learns about it at once, and nothing was subscribed for a
    // bridge that cannot serve.
    opts.rolie.check()?;
    if let Some(t) = &opts.rolie.write_token_file {
        gridlink::store::files::warn_if_shared(t, "write token file");
    }
    if let Some(t) = &opts.rolie.read_token_file {
        gridlink::store::files::warn_if_shared(t, "read token file");
    }
    let store_path = settings
        .store
        .clone()
        .unwrap_or_else(|| conn.state_dir.join("bridge.sqlite"));
    // `postgres://…`: replicas sharing one database (see README, "Scaling
    // out"); its password never reaches the terminal or the logs.
    let shown = gridlink::store::redact_location(&store_path.to_string_lossy());
    let postgres = gridlink::store::is_postgres_url(&store_path.to_string_lossy());
    if let Some(dir) = store_path.parent().filter(|_| !postgres) {
        gridlink::store::files::create_private_dir(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Listening before anything says "ready" (see `shutdown.rs`).
    let mut shutdown = super::shutdown::Shutdown::listen().context("signal handlers")?;
    let store = Store::open_location(&store_path)
        .await
        .with_context(|| format!("cannot open the store {shown}"))?;
    let grid = open_follower_grid(g).await?;
    let bridge = Bridge::start(grid, store, opts).await?;
    for a in bridge.rid_addrs() {
        eprintln!("gridlink bridge: RID endpoint listening on https://{a}/");
    }
    eprintln!(
        "gridlink bridge: serving ROLIE on {} (service document: /rolie/servicedocument), store {}",
        bridge.local_addr(),
        shown
    );
    bridge.run(async move { shutdown.recv().await }).await?;
    Ok(ExitCode::SUCCESS)
}
