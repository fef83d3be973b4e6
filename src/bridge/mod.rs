//! The bridge: a router between the grid and the web, assembled from
//! sources and sinks.
//!
//! ```text
//! sources (toward the grid)                              sinks (from the grid)
//! AtomPub POST/DELETE ─┐                               ┌─> store → ROLIE Atom feeds
//! feed poller ─────────┼─> outbox → XMPP publish ═ grid ═ XMPP follow ─┼─> [[sink]] json_lines
//!                      ┘   (GridPublisher)             (GridSource)    └─> [[sink]] files
//! ```
//!
//! Ingest is idempotent: the store keys items by (topic, item id, content),
//! so the catch-up fetch on start and after every new session can overlap
//! with live notifications without duplicating anything. An event is
//! recorded in the delivery cursor once every sink has handled it.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::durable::{Follower, Outbox, OutboxOptions};
use crate::envelope::Envelope;
use crate::grid::{Grid, GridError, GridEvent, TopicSelection};
use crate::iodef::{Redaction, ValidationLevel};
use crate::rolie::poll::{PollSource, Poller};
use crate::rolie::{Hooks, Publisher, RolieConfig, RolieServer};
use crate::sink::{deliver_all, Sink, SinkConfig, SinkError, StoreSink};
use crate::source::{GridSource, Source};
use crate::store::Store;

mod config;
mod counters;
mod publisher;

pub use config::{BridgeFile, TopicsKey};
use counters::{Counters, SessionHealth};
use publisher::GridPublisher;

/// Errors that stop the bridge.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The grid side failed (subscribe, first catch-up).
    #[error(transparent)]
    Grid(#[from] GridError),
    /// The HTTP side failed (bind, TLS settings).
    #[error(transparent)]
    Serve(#[from] crate::rolie::ServeError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// Following the topics failed (first catch-up).
    #[error(transparent)]
    Follow(#[from] crate::durable::FollowError),
    /// The HTTP client for polling could not be built.
    #[error("HTTP client: {0}")]
    Http(String),
    /// A sink could not handle an event (it stays unrecorded in the cursor).
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The XMPP session ended on its own (reconnecting cannot succeed).
    #[error("the XMPP session ended: {0}")]
    SessionEnded(String),
}

/// What the bridge bridges and how strictly.
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// Topics to serve.
    pub topics: TopicSelection,
    /// The HTTP side.
    pub rolie: RolieConfig,
    /// Validation of documents arriving from the grid.
    pub ingest_validation: ValidationLevel,
    /// Validation of documents POSTed to the repository.
    pub publish_validation: ValidationLevel,
    /// Largest document accepted for publishing.
    pub max_payload: usize,
    /// What to leave out of documents POSTed or polled before they are
    /// published (RFC 8600 §9); [`Redaction::new`] leaves nothing out.
    pub redaction: Redaction,
    /// Remote ROLIE/Atom feeds to publish into grid topics.
    pub poll: Vec<PollSource>,
    /// Time between two polls of a feed.
    pub poll_interval: std::time::Duration,
    /// Where pollers remember what they published.
    pub state_dir: std::path::PathBuf,
    /// The publish outbox (kept in the bridge's store).
    pub outbox: OutboxOptions,
    /// How long a POST waits for the broker's confirmation before it is
    /// answered 202 Accepted (the document stays queued in the outbox).
    pub confirm_wait: std::time::Duration,
    /// Items per catch-up request (see [`Follower::start_paged`];
    /// default [`crate::durable::CATCH_UP_PAGE`]).
    pub catch_up_page: u32,
    /// Sinks besides the store (`[[sink]]` tables): each event reaches
    /// them too before it is recorded in the cursor.
    pub sinks: Vec<SinkConfig>,
}

/// Default of [`BridgeOptions::confirm_wait`].
pub const DEFAULT_CONFIRM_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The HTTPS client of the bridge's ROLIE pollers.
///
/// It trusts what the XMPP connection trusts — the system roots plus
/// `--ca-file` — but takes none of the settings that concern the XMPP
/// server alone: its key pins (`--pin-sha256` would refuse every web server
/// with another key), its revocation lists (`--crl-file` would refuse every
/// web server whose issuer they do not cover) and the account's client
/// certificate (which would be offered to any web server that asks for
/// one).
pub fn poll_client(config: &crate::Config) -> Result<reqwest::Client, BridgeError> {
    let mut web = config.clone();
    web.pin_sha256.clear();
    web.crl_files.clear();
    web.client_cert = None;
    web.client_key = None;
    let tls =
        crate::xmpp::client_config(&web).map_err(|e| BridgeError::Grid(GridError::Connect(e)))?;
    reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("gridlink/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| BridgeError::Http(e.to_string()))
}

/// A bound bridge, ready to run: the grid source, the sinks it feeds, and
/// the sources that feed the grid.
pub struct Bridge {
    local_addr: std::net::SocketAddr,
    grid: Grid,
    from_grid: GridSource,
    sinks: Vec<Box<dyn Sink>>,
    /// The ROLIE server (AtomPub) first, then the pollers.
    sources: Vec<Box<dyn Source>>,
    outbox: Outbox,
    topics: Arc<Mutex<Vec<String>>>,
    counters: Arc<Counters>,
}

impl Bridge {
    /// Subscribes, catches up, and binds the HTTP listener.
    pub async fn start(
        grid: Grid,
        store: Store,
        opts: BridgeOptions,
    ) -> Result<Bridge, BridgeError> {
        // The follower subscribes before it fetches, so whatever is
        // published in between shows up in both; its cursor (kept in the
        // store) drops the overlap and what was stored before a restart.
        // It gets the selection itself, so that `AllIodef` is discovered
        // again on every new session (a topic created meanwhile is
        // followed from then on), not frozen at start.
        let follower = Follower::start_paged(
            &grid,
            opts.topics.clone(),
            opts.ingest_validation,
            store.clone(),
            opts.catch_up_page,
        )
        .await?;
        let names = follower.topics().to_vec();
        for t in &names {
            store.ensure_topic(t).await?;
        }
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(StoreSink::new(store.clone()))];
        for s in &opts.sinks {
            sinks.push(s.build()?);
        }
        let counters = Arc::new(Counters::default());
        let topics = Arc::new(Mutex::new(names));
        let outbox = Outbox::new(store.clone(), opts.outbox.clone());
        let publisher = GridPublisher {
            grid: grid.clone(),
            store: store.clone(),
            outbox: outbox.clone(),
            topics: topics.clone(),
            validation: opts.publish_validation,
            max_payload: opts.max_payload,
            redaction: Arc::new(opts.redaction.clone()),
            confirm_wait: opts.confirm_wait,
            counters: counters.clone(),
        };
        // Polled entries may go to topics the repository does not serve.
        let poll_publisher: Arc<dyn Publisher> =
            Arc::new(publisher.for_topics(opts.poll.iter().map(|p| p.topic.clone()).collect()));
        let server = RolieServer::bind(
            opts.rolie,
            store.clone(),
            Arc::new(publisher),
            hooks(&grid, &counters),
        )
        .await?;
        let local_addr = server.local_addr();
        let mut sources: Vec<Box<dyn Source>> = vec![Box::new(server)];
        if !opts.poll.is_empty() {
            let client = poll_client(grid.session().config())?;
            std::fs::create_dir_all(&opts.state_dir).map_err(|e| {
                BridgeError::Http(format!("state dir {}: {e}", opts.state_dir.display()))
            })?;
            for src in &opts.poll {
                let p = Poller::new(
                    src.clone(),
                    client.clone(),
                    poll_publisher.clone(),
                    &opts.state_dir,
                    opts.poll_interval,
                );
                if let Ok(mut polls) = counters.polls.lock() {
                    polls.push((src.clone(), p.stats.clone()));
                }
                sources.push(Box::new(p));
            }
        }
        Ok(Bridge {
            local_addr,
            grid,
            from_grid: GridSource::Follow(Box::new(follower)),
            sinks,
            sources,
            outbox,
            topics,
            counters,
        })
    }

    /// The address the HTTP side listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.local_addr
    }

    /// Runs until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), BridgeError> {
        let Bridge {
            grid,
            mut from_grid,
            mut sinks,
            sources,
            outbox,
            topics,
            counters,
            ..
        } = self;
        // One shutdown signal for every task: sources, the outbox drainer.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // Sends what earlier runs left queued, then whatever the sources
        // accept, in order, for as long as the session lives.
        let drainer = {
            let grid = grid.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                tokio::select! {
                    r = outbox.drain(&grid, false, |_| {}) => if let Err(e) = r {
                        tracing::error!(error = %e, "outbox store failed; queued documents stay on disk");
                    },
                    _ = stopped.wait_for(|s| *s) => {}
                }
            })
        };
        let tasks: Vec<_> = sources
            .into_iter()
            .map(|s| tokio::spawn(s.run(stopped.clone())))
            .collect();
        tokio::pin!(shutdown);
        let result = loop {
            let ev = tokio::select! {
                ev = from_grid.next() => ev,
                _ = &mut shutdown => break Ok(()),
            };
            let Some(ev) = ev else {
                break match grid.session().failure() {
                    Some(why) => Err(BridgeError::SessionEnded(why)),
                    None => Ok(()),
                };
            };
            observe(&counters, &topics, &ev);
            // Handled by every sink first, recorded second: a crash in
            // between hands the event out again, which the sinks take as
            // a repeat.
            if let Err(e) = deliver_all(&mut sinks, &ev).await {
                break Err(e.into());
            }
            if let Err(e) = from_grid.acknowledge(&ev).await {
                break Err(e.into());
            }
        };
        let _ = stop.send(true);
        for t in tasks {
            let _ = t.await;
        }
        let _ = drainer.await;
        grid.close().await;
        result
    }
}

/// What the router itself takes from an event: counters, logs, and the
/// topics it now serves (POSTs to others are refused).
fn observe(counters: &Counters, topics: &Mutex<Vec<String>>, ev: &GridEvent) {
    match ev {
        GridEvent::Item { envelope, .. } => Counters::bump(&counters.items_in, &envelope.topic),
        GridEvent::Resubscribed { topics: t } | GridEvent::TopicsAdded { topics: t, .. } => {
            if matches!(ev, GridEvent::Resubscribed { .. }) {
                counters.resubscriptions.fetch_add(1, Ordering::Relaxed);
            } else {
                tracing::info!(event = %ev.to_json(), "grid event");
            }
            if let Ok(mut cur) = topics.lock() {
                *cur = t.clone();
            }
        }
        GridEvent::Lagged { dropped, .. } => {
            counters.dropped.fetch_add(*dropped, Ordering::Relaxed);
            tracing::warn!(event = %ev.to_json(), "grid event");
        }
        GridEvent::Gap { .. } => {
            counters.gaps.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(event = %ev.to_json(), "grid event");
        }
        // Logged where they were detected, or by the store sink.
        GridEvent::Rejected { .. }
        | GridEvent::Retract { .. }
        | GridEvent::Purge { .. }
        | GridEvent::Delete { .. } => {}
        other => tracing::info!(event = %other.to_json(), "grid event"),
    }
}

/// The ROLIE server's hooks: the RFC 8727 JSON form, `/healthz`, `/metrics`.
fn hooks(grid: &Grid, counters: &Arc<Counters>) -> Hooks {
    let metrics_counters = counters.clone();
    let metrics_session = grid.session().clone();
    Hooks {
        json_form: Some(Arc::new(|env: &Envelope| {
            crate::iodef::parse(env.document.as_bytes())
                .map(|d| d.to_json_string())
                .map_err(|e| e.to_string())
        })),
        health: Some(Arc::new(SessionHealth(grid.session().watch_state()))),
        metrics: Some(Arc::new(move |out: &mut String| {
            metrics_counters.render(out);
            out.push_str(&format!(
                "# HELP gridlink_xmpp_reconnects_total XMPP connection losses since start.\n\
                 # TYPE gridlink_xmpp_reconnects_total counter\ngridlink_xmpp_reconnects_total {}\n",
                metrics_session.reconnects()
            ));
        })),
    }
}
