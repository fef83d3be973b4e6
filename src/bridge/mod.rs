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
use std::sync::{Arc, Mutex};

use crate::durable::{Follower, Outbox};
use crate::grid::Grid;
use crate::rolie::poll::csaf::CsafPoller;
use crate::rolie::poll::{PollClient, Poller};
use crate::rolie::{Publisher, RolieServer};
use crate::sink::{Fanout, FanoutOptions, Sink, StoreSink};
use crate::source::leased::LeasedPoller;
use crate::source::{GridSource, Source};
use crate::store::Store;

mod config;
mod observe;
mod options;
mod publisher;

pub use config::{BridgeFile, TopicsKey};
use observe::{hooks, observe, Counters};
pub use options::{BridgeError, BridgeOptions, DEFAULT_CONFIRM_WAIT};
pub use publisher::grid_publisher;
use publisher::GridPublisher;

/// A bound bridge, ready to run: the grid source, the sinks it feeds, and
/// the sources that feed the grid.
pub struct Bridge {
    local_addr: std::net::SocketAddr,
    grid: Grid,
    from_grid: GridSource,
    /// The store sink and `[[sink]]`s; own-cursor sinks run in their own
    /// tasks from the store's sinks' journal.
    sinks: Fanout,
    /// The ROLIE server (AtomPub) first, then the pollers.
    sources: Vec<Box<dyn Source>>,
    outbox: Outbox,
    topics: Arc<Mutex<Vec<String>>>,
    counters: Arc<Counters>,
    rid_addrs: Vec<std::net::SocketAddr>,
}

/// A topic of CSAF advisories or CVE records is served as a ROLIE
/// `vulnerability` collection (draft-ietf-mile-rolie-vuln §3) unless its
/// `[bridge.topics.NAME]` table says otherwise.
fn vulnerability_collection(
    rolie: &mut crate::rolie::RolieConfig,
    topic: &str,
    payload: Option<crate::vuln::PayloadType>,
) {
    let Some(kind) = payload.filter(|p| p.is_json()) else {
        return;
    };
    let settings = rolie.topics.entry(topic.to_owned()).or_default();
    settings
        .information_type
        .get_or_insert_with(|| "vulnerability".to_owned());
    settings
        .title
        .get_or_insert_with(|| format!("{} topic {topic}", kind.name().to_uppercase()));
}

impl Bridge {
    /// Subscribes, catches up, and binds the HTTP listener.
    pub async fn start(
        grid: Grid,
        store: Store,
        mut opts: BridgeOptions,
    ) -> Result<Bridge, BridgeError> {
        // The follower subscribes before it fetches, so whatever is
        // published in between shows up in both; its cursor (kept in the
        // store) drops the overlap and what was stored before a restart.
        // It gets the selection itself, so that `AllIodef` is discovered
        // again on every new session (a topic created meanwhile is
        // followed from then on), not frozen at start.
        // Only the `[[sink]]`s read an item's RFC 8727 JSON (journal lines,
        // syslog fields); the store keeps the document. Without them it is
        // not built for live notifications (issue 22).
        let follow_grid = match opts.sinks.is_empty() {
            true => grid.clone().without_item_json(),
            false => grid.clone(),
        };
        let follower = Follower::start_paged(
            &follow_grid,
            opts.topics.clone(),
            opts.ingest_validation,
            store.clone(),
            opts.catch_up_page,
        )
        .await?;
        let names = follower.topics().to_vec();
        for t in &names {
            store.ensure_topic(t).await?;
            // The grid may limit who reads a topic; a repository anyone can
            // read would undo that. Said once, at start.
            let model = match grid.topic_info(t).await {
                Ok(info) => {
                    vulnerability_collection(&mut opts.rolie, t, info.payload());
                    info.access_model.unwrap_or_else(|| "unknown".into())
                }
                Err(e) => {
                    tracing::debug!(topic = %t, error = %e, "no meta-data for the topic");
                    "unknown".into()
                }
            };
            crate::rolie::warn_open_reads(&opts.rolie, t, &model);
        }
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(StoreSink::new(store.clone()))];
        for s in &opts.sinks {
            sinks.push(match crate::rid::sink::build(s) {
                Some(rid) => rid?,
                None => s.build()?,
            });
        }
        // Dead letters beside the pollers' state (`STATE_DIR/poll/..`).
        let dead_letter_dir = opts
            .state_dir
            .parent()
            .unwrap_or(&opts.state_dir)
            .to_path_buf();
        let fanout_opts = FanoutOptions {
            dead_letter_dir,
            backoff: Default::default(),
        };
        let sinks = Fanout::start(sinks, &store, fanout_opts).await?;
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
        let poll_publisher: Arc<dyn Publisher> = Arc::new(
            publisher.for_topics(
                opts.poll
                    .iter()
                    .chain(&opts.poll_csaf)
                    .map(|p| p.topic.clone())
                    .collect(),
            ),
        );
        let rid_publisher = publisher.clone();
        let server = RolieServer::bind(
            opts.rolie,
            store.clone(),
            Arc::new(publisher),
            hooks(&grid, &counters, sinks.monitor()),
        )
        .await?
        .mount(crate::taxii::router);
        let local_addr = server.local_addr();
        let mut sources: Vec<Box<dyn Source>> = vec![Box::new(server)];
        if !opts.poll.is_empty() || !opts.poll_csaf.is_empty() {
            let client = PollClient::new(grid.session().config(), opts.poll_allow.clone())
                .map_err(|e| BridgeError::Http(e.to_string()))?;
            crate::store::files::create_private_dir(&opts.state_dir).map_err(|e| {
                BridgeError::Http(format!("state dir {}: {e}", opts.state_dir.display()))
            })?;
            for src in &opts.poll {
                let p = Poller::new(
                    src.clone(),
                    &client,
                    poll_publisher.clone(),
                    &opts.state_dir,
                    opts.poll_interval,
                )
                .map_err(|e| BridgeError::Http(e.to_string()))?;
                if let Ok(mut polls) = counters.polls.lock() {
                    polls.push((src.clone(), p.stats.clone()));
                }
                // Replicas sharing a PostgreSQL store poll each feed once,
                // whoever holds its lease.
                match store.replica() {
                    Some(_) => sources.push(Box::new(LeasedPoller::new(
                        p,
                        store.clone(),
                        opts.poll_interval,
                    ))),
                    None => sources.push(Box::new(p)),
                }
            }
            if let Some(k) = opts
                .csaf_keys
                .iter()
                .find(|k| !opts.poll_csaf.iter().any(|s| s.url == k.source))
            {
                return Err(BridgeError::Http(format!(
                    "--csaf-key {}=…: no --poll-csaf source has that URL",
                    crate::rolie::poll::redact_url(&k.source)
                )));
            }
            for src in &opts.poll_csaf {
                let p = CsafPoller::new(
                    src.clone(),
                    &client,
                    poll_publisher.clone(),
                    &opts.state_dir,
                    opts.poll_interval,
                )
                .map_err(|e| BridgeError::Http(e.to_string()))?
                .with_openpgp(&opts.csaf_keys)
                .map_err(|e| BridgeError::Http(e.to_string()))?;
                if let Ok(mut polls) = counters.polls.lock() {
                    polls.push((src.clone(), p.stats.clone()));
                }
                sources.push(Box::new(p));
            }
        }
        // RID endpoints: Reports and requests through this bridge's outbox, Queries answered
        // from its store (everything it follows) before the broker's items.
        let mut rid_addrs = Vec::new();
        let state_root = opts.state_dir.parent().unwrap_or(&opts.state_dir);
        for c in &opts.rid {
            let plan = c.plan(state_root)?;
            for t in &plan.topics {
                grid.ensure_topic(t, &crate::grid::TopicOptions::default())
                    .await?;
            }
            let followed = topics.lock().map(|t| t.clone()).unwrap_or_default();
            let server = plan.server(
                Arc::new(rid_publisher.for_topics(plan.topics.clone())),
                store.clone(),
                &grid,
                plan.query_topics(&followed),
            )?;
            let addr = server
                .local_addr()
                .map_err(|e| crate::rid::config::RidConfigError::Invalid(e.to_string()))?;
            tracing::info!(%addr, "RID endpoint listening (RFC 6546, mutual TLS)");
            rid_addrs.push(addr);
            sources.push(Box::new(server));
        }
        Ok(Bridge {
            local_addr,
            rid_addrs,
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

    /// The addresses the RID sources (`[[source]] type = "rid"`) listen on, in their order.
    pub fn rid_addrs(&self) -> &[std::net::SocketAddr] {
        &self.rid_addrs
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
            .map(|s| {
                // Names are safe to log: URLs in them are redacted (`redact_url`).
                tracing::info!(source = %s.name(), "source started");
                tokio::spawn(s.run(stopped.clone()))
            })
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
            if let Err(e) = sinks.deliver(&ev).await {
                break Err(e.into());
            }
            if let Err(e) = from_grid.acknowledge(&ev).await {
                break Err(e.into());
            }
        };
        let _ = stop.send(true);
        sinks.close().await;
        for t in tasks {
            let _ = t.await;
        }
        let _ = drainer.await;
        grid.close().await;
        result
    }
}
