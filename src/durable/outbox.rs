//! The publish outbox: accepted documents are on disk before they are sent
//! and leave the disk only when the broker confirmed them.
//!
//! A caller [`accept`](Outbox::accept)s a prepared [`Payload`]; from that
//! moment it survives a crash of this process, a dead broker and a lost
//! network. [`Outbox::drain`] sends the queue in order, a window of
//! publishes at a time, and removes each entry when its `result` arrives.
//! A crash after the broker applied a publish but before the entry was
//! removed makes it go out again with the same item id: the broker replaces
//! the item, and subscribers (which deduplicate by item id and content, see
//! [`super::Follower`]) see it once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::{oneshot, Notify};

use crate::grid::{Grid, GridError, Payload};
use crate::store::{OutboxEntry, Store, StoreError};
use crate::xmpp::SessionState;

/// Default bound on waiting documents.
pub const DEFAULT_OUTBOX_MAX: usize = 100_000;

/// How the outbox behaves.
#[derive(Debug, Clone)]
pub struct OutboxOptions {
    /// Most documents that may wait; [`Outbox::accept`] fails beyond it.
    pub max: usize,
    /// Publishes in flight at once while draining.
    pub window: usize,
    /// Longest pause between two attempts after transient failures.
    pub retry_max_delay: Duration,
}

impl Default for OutboxOptions {
    fn default() -> Self {
        OutboxOptions {
            max: DEFAULT_OUTBOX_MAX,
            window: 32,
            retry_max_delay: Duration::from_secs(30),
        }
    }
}

/// Why a document was not accepted or not published.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OutboxError {
    /// The outbox is at its bound.
    #[error("the outbox is full ({max} documents wait for the broker); retry later or raise --outbox-max")]
    Full {
        /// The bound.
        max: usize,
    },
    /// The store could not be written: the document was NOT accepted.
    #[error("the outbox store failed, document not accepted: {0}")]
    Store(String),
    /// The broker refused the publish for good (forbidden, unknown topic,
    /// payload refused); the entry was removed from the outbox.
    #[error("the broker refused it: {0}")]
    Refused(String),
    /// The outbox stopped before the document was confirmed; it stays queued.
    #[error("not confirmed yet; it stays in the outbox and is sent when the broker is back")]
    Pending,
}

impl From<StoreError> for OutboxError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::OutboxFull { max } => OutboxError::Full { max },
            other => OutboxError::Store(other.to_string()),
        }
    }
}

/// Counters since the process started.
#[derive(Debug, Default)]
pub struct OutboxStats {
    /// Documents accepted.
    pub accepted: AtomicU64,
    /// Publishes the broker confirmed.
    pub confirmed: AtomicU64,
    /// Entries dropped because a newer document with the same item id
    /// followed them in the queue (the broker would replace them anyway).
    pub superseded: AtomicU64,
    /// Publishes the broker refused for good.
    pub refused: AtomicU64,
    /// Attempts that failed transiently and were retried.
    pub retries: AtomicU64,
}

/// One finished entry, as [`Outbox::drain`] reports it.
#[derive(Debug)]
pub struct Finished<'a> {
    /// The entry.
    pub entry: &'a OutboxEntry,
    /// The confirmed item id, or why the broker refused it.
    pub result: Result<&'a str, &'a str>,
}

/// A handle to the outbox (cheap to clone).
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    opts: OutboxOptions,
    wake: Notify,
    waiters: Mutex<HashMap<i64, oneshot::Sender<Result<String, OutboxError>>>>,
    stats: OutboxStats,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("opts", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

/// An accepted document: on disk, waiting for (or past) its confirmation.
#[derive(Debug)]
pub struct Ticket {
    /// Its queue position.
    pub seq: i64,
    /// The item id it is published under.
    pub item_id: String,
    rx: oneshot::Receiver<Result<String, OutboxError>>,
}

impl Ticket {
    /// Waits at most `limit` for the broker's confirmation. `Pending` means
    /// the document is still safely queued.
    pub async fn confirmed(self, limit: Duration) -> Result<String, OutboxError> {
        match tokio::time::timeout(limit, self.rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) | Err(_) => Err(OutboxError::Pending),
        }
    }
}

impl Outbox {
    /// An outbox kept in `store`, holding whatever a previous run left.
    pub fn new(store: Store, opts: OutboxOptions) -> Outbox {
        Outbox {
            inner: Arc::new(Inner {
                store,
                opts,
                wake: Notify::new(),
                waiters: Mutex::new(HashMap::new()),
                stats: OutboxStats::default(),
            }),
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> &OutboxStats {
        &self.inner.stats
    }

    /// How many documents wait.
    pub async fn len(&self) -> Result<usize, StoreError> {
        self.inner.store.outbox_len().await
    }

    /// Whether nothing waits.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len().await? == 0)
    }

    /// Writes the document to the outbox (durably) and wakes the drainer.
    /// Once this returns `Ok`, the document will reach the broker.
    pub async fn accept(&self, topic: &str, payload: &Payload) -> Result<Ticket, OutboxError> {
        let seq = self
            .inner
            .store
            .outbox_push(topic, &payload.item_id, &payload.xml, self.inner.opts.max)
            .await?;
        let (tx, rx) = oneshot::channel();
        if let Ok(mut w) = self.inner.waiters.lock() {
            w.insert(seq, tx);
        }
        self.inner.stats.accepted.fetch_add(1, Ordering::Relaxed);
        self.inner.wake.notify_one();
        Ok(Ticket {
            seq,
            item_id: payload.item_id.clone(),
            rx,
        })
    }

    fn finish(&self, seq: i64, result: Result<String, OutboxError>) {
        let waiter = self
            .inner
            .waiters
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&seq));
        if let Some(tx) = waiter {
            let _ = tx.send(result);
        }
    }

    /// Sends the queue through `grid`, in order, until it is empty (when
    /// `until_empty`) or the session closes. `on_finished` hears about every
    /// entry that left the queue. Transient failures (connection lost,
    /// timeouts, `wait` errors) keep the entry and retry with backoff;
    /// permanent refusals remove it and report why.
    pub async fn drain(
        &self,
        grid: &Grid,
        until_empty: bool,
        mut on_finished: impl FnMut(Finished<'_>),
    ) -> Result<(), StoreError> {
        let store = &self.inner.store;
        let mut state = grid.session().watch_state();
        let mut failures: u32 = 0;
        loop {
            let head = store.outbox_head(self.inner.opts.window.max(1)).await?;
            if head.is_empty() {
                if until_empty {
                    return Ok(());
                }
                // A missed wake-up only delays sending by the tick.
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), self.inner.wake.notified()).await;
                continue;
            }
            // Sending while disconnected would only burn attempts on timeouts.
            if *state.borrow() != SessionState::Online {
                tracing::info!(waiting = head.len(), "outbox: waiting for the XMPP session");
                if state
                    .wait_for(|s| matches!(s, SessionState::Online | SessionState::Closed))
                    .await
                    .map(|s| *s == SessionState::Closed)
                    .unwrap_or(true)
                {
                    return Ok(());
                }
            }
            // An older entry for the same item that a newer one follows in
            // this batch would be replaced by it on the broker: skip it.
            let mut newest: HashMap<(&str, &str), i64> = HashMap::new();
            for e in &head {
                newest.insert((e.topic.as_str(), e.item_id.as_str()), e.seq);
            }
            let (send, superseded): (Vec<&OutboxEntry>, Vec<&OutboxEntry>) = head
                .iter()
                .partition(|e| newest.get(&(e.topic.as_str(), e.item_id.as_str())) == Some(&e.seq));
            let results = join_all(send.iter().map(|e| async move {
                let payload = Payload::from_prepared(e.item_id.clone(), e.document.clone())
                    .map_err(GridError::from)?;
                grid.publish(&e.topic, &payload).await
            }))
            .await;
            let mut done: Vec<i64> = superseded.iter().map(|e| e.seq).collect();
            for e in &superseded {
                self.inner.stats.superseded.fetch_add(1, Ordering::Relaxed);
                self.finish(e.seq, Ok(e.item_id.clone()));
                on_finished(Finished {
                    entry: e,
                    result: Ok(&e.item_id),
                });
            }
            let mut transient = None;
            for (e, r) in send.iter().zip(results) {
                match r {
                    Ok(id) => {
                        done.push(e.seq);
                        self.inner.stats.confirmed.fetch_add(1, Ordering::Relaxed);
                        on_finished(Finished {
                            entry: e,
                            result: Ok(&id),
                        });
                        self.finish(e.seq, Ok(id));
                    }
                    Err(err) if err.is_transient() => {
                        self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                        store.outbox_failed(e.seq, &err.to_string()).await?;
                        transient.get_or_insert(err.to_string());
                    }
                    Err(err) => {
                        let reason = err.to_string();
                        tracing::error!(topic = %e.topic, item = %e.item_id, error = %reason,
                            "outbox: the broker refused a document; dropped from the outbox");
                        done.push(e.seq);
                        self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
                        on_finished(Finished {
                            entry: e,
                            result: Err(&reason),
                        });
                        self.finish(e.seq, Err(OutboxError::Refused(reason)));
                    }
                }
            }
            store.outbox_remove(done).await?;
            match transient {
                Some(error) => {
                    failures += 1;
                    let delay = crate::xmpp::backoff(failures, self.inner.opts.retry_max_delay);
                    tracing::warn!(%error, retry_in = ?delay, "outbox: publish failed; will retry");
                    tokio::time::sleep(delay).await;
                }
                None => failures = 0,
            }
        }
    }
}
