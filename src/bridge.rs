//! The bridge: the small router between the grid and the ROLIE repository.
//!
//! ```text
//! XMPP notifications ─┐                      ┌─> store → Atom feeds (rolie)
//! XMPP catch-up fetch ─┼─> Envelope → store ──┘
//! AtomPub POST/DELETE ─┴─> validate → XMPP publish/retract (confirmed) → store
//! ```
//!
//! Ingest is idempotent: the store keys items by (topic, item id, content),
//! so the catch-up fetch on start and after every new session can overlap
//! with live notifications without duplicating anything.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::durable::{Follower, Outbox, OutboxError, OutboxOptions};
use crate::envelope::Envelope;
use crate::grid::{Grid, GridError, GridEvent, Payload, PayloadError, TopicSelection};
use crate::iodef::{Redaction, ValidationLevel};
use crate::metrics::{Exposition, Kind};
use crate::rolie::poll::{PollSource, PollStats, Poller};
use crate::rolie::{
    BoxFuture, ComponentHealth, HealthProbe, Hooks, PublishBody, PublishError, Published,
    Publisher, RolieConfig, RolieServer,
};
use crate::store::Store;
use crate::xmpp::SessionState;

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
}

/// Default of [`BridgeOptions::confirm_wait`].
pub const DEFAULT_CONFIRM_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Counters for `/metrics`.
#[derive(Default)]
struct Counters {
    items_in: Mutex<BTreeMap<String, u64>>,
    items_out: Mutex<BTreeMap<String, u64>>,
    publish_micros: AtomicU64,
    publishes: AtomicU64,
    resubscriptions: AtomicU64,
    gaps: AtomicU64,
    dropped: AtomicU64,
    polls: Mutex<Vec<(PollSource, Arc<PollStats>)>>,
}

impl Counters {
    fn bump(map: &Mutex<BTreeMap<String, u64>>, topic: &str) {
        if let Ok(mut m) = map.lock() {
            *m.entry(topic.to_string()).or_default() += 1;
        }
    }

    fn render(&self, out: &mut String) {
        let mut w = Exposition::new(out);
        for (name, help, map) in [
            (
                "gridlink_items_in_total",
                "Items received from the grid.",
                &self.items_in,
            ),
            (
                "gridlink_items_out_total",
                "Items published to the grid.",
                &self.items_out,
            ),
        ] {
            w.family(name, Kind::Counter, help);
            if let Ok(m) = map.lock() {
                for (topic, n) in m.iter() {
                    w.sample(name, &[("topic", topic)], n);
                }
            }
        }
        let micros = self.publish_micros.load(Ordering::Relaxed);
        w.family(
            "gridlink_publish_seconds",
            Kind::Summary,
            "Time from POST to the broker's confirmation.",
        )
        .sample("gridlink_publish_seconds_sum", &[], micros as f64 / 1e6)
        .sample(
            "gridlink_publish_seconds_count",
            &[],
            self.publishes.load(Ordering::Relaxed),
        );
        w.single(
            "gridlink_resubscriptions_total",
            Kind::Counter,
            "New XMPP sessions after which the bridge resubscribed.",
            self.resubscriptions.load(Ordering::Relaxed),
        );
        w.single(
            "gridlink_notifications_dropped_total",
            Kind::Counter,
            "Notifications dropped because the bridge fell behind (caught up from the topics' items).",
            self.dropped.load(Ordering::Relaxed),
        );
        w.single(
            "gridlink_gaps_total",
            Kind::Counter,
            "Catch-ups that could not prove nothing was missed.",
            self.gaps.load(Ordering::Relaxed),
        );
        if let Ok(polls) = self.polls.lock() {
            for (name, help, get) in [
                (
                    "gridlink_poll_published_total",
                    "Remote feed entries published to the grid.",
                    (|s: &PollStats| s.published.load(Ordering::Relaxed)) as fn(&PollStats) -> u64,
                ),
                (
                    "gridlink_poll_invalid_total",
                    "Remote feed entries refused as invalid IODEF.",
                    |s| s.invalid.load(Ordering::Relaxed),
                ),
                (
                    "gridlink_poll_errors_total",
                    "Failed poll rounds (retried with backoff).",
                    |s| s.errors.load(Ordering::Relaxed),
                ),
                (
                    "gridlink_poll_not_modified_total",
                    "Poll rounds answered 304.",
                    |s| s.not_modified.load(Ordering::Relaxed),
                ),
                (
                    "gridlink_poll_skipped_total",
                    "Remote feed entries skipped because their content is gone (404, 410) or unreadable.",
                    |s| s.skipped.load(Ordering::Relaxed),
                ),
            ] {
                w.family(name, Kind::Counter, help);
                for (src, stats) in polls.iter() {
                    w.sample(
                        name,
                        &[("source", &src.url), ("topic", &src.topic)],
                        get(stats),
                    );
                }
            }
        }
    }
}

/// Publishes what the repository receives: validate, publish, wait for the
/// broker, then store (so the `Location` of the 201 resolves at once).
///
/// Publishes go through the durable outbox: once a POST is answered 201 or
/// 202 the document is on disk and reaches the broker even if the bridge
/// dies first.
#[derive(Clone)]
struct GridPublisher {
    grid: Grid,
    store: Store,
    outbox: Outbox,
    topics: Arc<Mutex<Vec<String>>>,
    validation: ValidationLevel,
    max_payload: usize,
    redaction: Arc<Redaction>,
    confirm_wait: std::time::Duration,
    counters: Arc<Counters>,
}

fn unavailable_or_refused(e: GridError) -> PublishError {
    if e.condition().as_deref() == Some("item-not-found") {
        PublishError::UnknownTopic
    } else if e.is_transient() {
        PublishError::Unavailable(e.to_string())
    } else {
        PublishError::Refused(e.to_string())
    }
}

impl GridPublisher {
    fn bridged(&self, topic: &str) -> bool {
        self.topics
            .lock()
            .map(|t| t.iter().any(|x| x == topic))
            .unwrap_or(false)
    }

    /// The same publisher serving other topics (the pollers' targets).
    fn for_topics(&self, topics: Vec<String>) -> GridPublisher {
        GridPublisher {
            topics: Arc::new(Mutex::new(topics)),
            ..self.clone()
        }
    }

    async fn do_publish(&self, topic: &str, body: PublishBody) -> Result<Published, PublishError> {
        if !self.bridged(topic) {
            return Err(PublishError::UnknownTopic);
        }
        let bytes = match &body {
            PublishBody::Xml(s) | PublishBody::Json(s) => s.as_bytes(),
        };
        let payload =
            Payload::prepare_redacted(bytes, self.validation, self.max_payload, &self.redaction)
                .map_err(|e| match e {
                    PayloadError::Invalid(p) => PublishError::Invalid(p),
                    other => PublishError::Invalid(vec![other.to_string()]),
                })?;
        let started = Instant::now();
        let ticket = self
            .outbox
            .accept(topic, &payload)
            .await
            .map_err(|e| PublishError::Unavailable(e.to_string()))?;
        let id = match ticket.confirmed(self.confirm_wait).await {
            Ok(id) => id,
            Err(OutboxError::Pending) => {
                return Ok(Published {
                    item_id: payload.item_id,
                    confirmed: false,
                })
            }
            Err(e) => return Err(PublishError::Refused(e.to_string())),
        };
        self.counters
            .publish_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.counters.publishes.fetch_add(1, Ordering::Relaxed);
        Counters::bump(&self.counters.items_out, topic);
        let env = Envelope {
            topic: topic.to_string(),
            item_id: id.clone(),
            publisher: Some(self.grid.session().bare_jid().to_string()),
            received_at: chrono::Utc::now(),
            delayed_at: None,
            payload_ns: crate::envelope::IODEF_V2_NS.to_string(),
            document: payload.xml,
        };
        if let Err(e) = self.store.put(env).await {
            // Published but not yet stored: the notification will store it.
            tracing::warn!(topic, item = %id, error = %e, "storing a published item failed");
        }
        Ok(id.into())
    }
}

impl Publisher for GridPublisher {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        body: PublishBody,
    ) -> BoxFuture<'a, Result<Published, PublishError>> {
        Box::pin(self.do_publish(topic, body))
    }

    fn retract<'a>(
        &'a self,
        topic: &'a str,
        item_id: &'a str,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            if !self.bridged(topic) {
                return Err(PublishError::UnknownTopic);
            }
            // The topic is known here, so the broker's item-not-found is
            // about the item.
            self.grid.retract(topic, item_id).await.map_err(|e| {
                match unavailable_or_refused(e) {
                    PublishError::UnknownTopic => PublishError::NotFound,
                    other => other,
                }
            })?;
            let _ = self.store.retract(topic, item_id).await;
            Ok(())
        })
    }
}

struct SessionHealth(tokio::sync::watch::Receiver<SessionState>);

impl HealthProbe for SessionHealth {
    fn xmpp(&self) -> ComponentHealth {
        let state = *self.0.borrow();
        ComponentHealth {
            healthy: state == SessionState::Online,
            detail: match state {
                SessionState::Online => "online",
                SessionState::Suspended => "reconnecting",
                SessionState::Closed => "closed",
            }
            .to_string(),
        }
    }
}

/// Stores one event; returns whether it was an item.
async fn ingest(store: &Store, counters: &Counters, ev: &GridEvent) -> Result<(), BridgeError> {
    match ev {
        GridEvent::Item { envelope, .. } => {
            Counters::bump(&counters.items_in, &envelope.topic);
            store.put(envelope.clone()).await?;
        }
        GridEvent::Retract { topic, item_id, .. } => {
            store.retract(topic, item_id).await?;
        }
        // The broker dropped every item (purge) or the topic itself: the
        // feed follows, leaving a tombstone per item.
        GridEvent::Purge { topic, .. } | GridEvent::Delete { topic, .. } => {
            let n = store.purge(topic).await?;
            tracing::info!(event = %ev.to_json(), items_removed = n, "grid event");
        }
        GridEvent::Rejected { .. } => {} // logged where it was detected
        GridEvent::Lagged { dropped, .. } => {
            counters.dropped.fetch_add(*dropped, Ordering::Relaxed);
            tracing::warn!(event = %ev.to_json(), "grid event");
        }
        GridEvent::Gap { .. } => {
            counters.gaps.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(event = %ev.to_json(), "grid event");
        }
        other => tracing::info!(event = %other.to_json(), "grid event"),
    }
    Ok(())
}

/// A bound bridge, ready to run.
pub struct Bridge {
    server: RolieServer,
    grid: Grid,
    store: Store,
    follower: Follower,
    outbox: Outbox,
    topics: Arc<Mutex<Vec<String>>>,
    counters: Arc<Counters>,
    pollers: Vec<Poller>,
}

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
        let publisher = Arc::new(publisher);
        let metrics_counters = counters.clone();
        let metrics_session = grid.session().clone();
        let hooks = Hooks {
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
        };
        let server = RolieServer::bind(opts.rolie, store.clone(), publisher, hooks).await?;
        let mut pollers = Vec::new();
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
                pollers.push(p);
            }
        }
        Ok(Bridge {
            pollers,
            server,
            grid,
            store,
            follower,
            outbox,
            topics,
            counters,
        })
    }

    /// The address the HTTP side listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    /// Runs until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), BridgeError> {
        let Bridge {
            server,
            grid,
            store,
            mut follower,
            outbox,
            topics,
            counters,
            pollers,
        } = self;
        // Sends what earlier runs left queued, then whatever POSTs and
        // pollers accept, in order, for as long as the session lives.
        let drainer = {
            let grid = grid.clone();
            tokio::spawn(async move {
                if let Err(e) = outbox.drain(&grid, false, |_| {}).await {
                    tracing::error!(error = %e, "outbox store failed; queued documents stay on disk");
                }
            })
        };
        let (poll_stop, poll_rx) = tokio::sync::watch::channel(false);
        let poll_tasks: Vec<_> = pollers
            .into_iter()
            .map(|p| tokio::spawn(p.run(poll_rx.clone())))
            .collect();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let http = tokio::spawn(server.run(async move {
            let _ = stop_rx.await;
        }));
        tokio::pin!(shutdown);
        let result = 'run: loop {
            tokio::select! {
                ev = follower.next() => {
                    let Some(ev) = ev else {
                        break match grid.session().failure() {
                            Some(why) => Err(BridgeError::SessionEnded(why)),
                            None => Ok(()),
                        };
                    };
                    if let GridEvent::Resubscribed { topics: t } | GridEvent::TopicsAdded { topics: t, .. } = &ev {
                        // The follower has already caught these topics up;
                        // one discovered anew is served from now on.
                        if matches!(ev, GridEvent::Resubscribed { .. }) {
                            counters.resubscriptions.fetch_add(1, Ordering::Relaxed);
                        } else {
                            tracing::info!(event = %ev.to_json(), "grid event");
                        }
                        for name in t {
                            if let Err(e) = store.ensure_topic(name).await {
                                break 'run Err(e.into());
                            }
                        }
                        if let Ok(mut cur) = topics.lock() {
                            *cur = t.clone();
                        }
                    } else if let Err(e) = ingest(&store, &counters, &ev).await {
                        break Err(e);
                    }
                    // Stored first, recorded second: a crash in between
                    // re-stores the same content, which is a no-op.
                    if let Err(e) = follower.delivered(&ev).await {
                        break Err(e.into());
                    }
                }
                _ = &mut shutdown => break Ok(()),
            }
        };
        let _ = stop_tx.send(());
        let _ = poll_stop.send(true);
        for t in poll_tasks {
            let _ = t.await;
        }
        if let Ok(Err(e)) = http.await {
            tracing::error!(error = %e, "HTTP server");
        }
        drainer.abort();
        grid.close().await;
        result
    }
}
