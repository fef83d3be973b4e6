//! Following topics without loss or repetition across restarts.
//!
//! A [`Follower`] wraps a grid [`Subscription`] with a persistent delivery
//! cursor per topic: the (item id, content hash) of every item its consumer
//! has handled. On start and after every new XMPP session it fetches what
//! each topic still keeps (XEP-0060 items retrieval; Prosody offers no RSM
//! for items and keeps only the node's `max_items`), hands over what the
//! consumer has not seen, and then continues live. Live notifications and
//! catch-up overlap on purpose; the cursor drops the overlap.
//!
//! The consumer calls [`Follower::delivered`] once it has handled an event.
//! Only then is it recorded, so a crash before that point makes it come
//! again (at-least-once at the crash, exactly-once otherwise). The window is
//! one event: the one being handled when the process died.
//!
//! When none of the items the broker still keeps had been delivered before,
//! items may have been discarded by the broker in between: the follower says
//! so with a [`GridEvent::Gap`] instead of pretending.

use std::collections::{HashMap, VecDeque};

use crate::grid::{Grid, GridError, GridEvent, Subscription, TopicSelection};
use crate::iodef::ValidationLevel;
use crate::store::{content_hash, Store, StoreError};

/// Why following failed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The grid side failed.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// The cursor store failed.
    #[error("cursor store: {0}")]
    Store(#[from] StoreError),
}

/// The cursor value recorded for a refused payload (it has no document).
const REJECTED: &str = "rejected";

/// A subscription with catch-up and a persistent per-topic cursor.
pub struct Follower {
    grid: Grid,
    sub: Subscription,
    store: Store,
    level: ValidationLevel,
    /// Per topic: item id → content hash, delivered or handed out.
    seen: HashMap<String, HashMap<String, String>>,
    queue: VecDeque<GridEvent>,
    /// Topics still to catch up, one at a time, so that only one topic's
    /// backlog is in memory at once.
    pending: VecDeque<String>,
    /// The `Resubscribed` event, emitted once its topics are caught up.
    resubscribed: Option<GridEvent>,
    topics: Vec<String>,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("topics", &self.topics)
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

/// The item id of an item or refused payload (no hashing).
fn item_id(ev: &GridEvent) -> Option<&str> {
    match ev {
        GridEvent::Item { envelope, .. } => Some(&envelope.item_id),
        GridEvent::Rejected { item_id, .. } => Some(item_id),
        _ => None,
    }
}

/// The cursor key of an event: (topic, item id, content hash).
fn key(ev: &GridEvent) -> Option<(&str, &str, String)> {
    match ev {
        GridEvent::Item { envelope, .. } => Some((
            &envelope.topic,
            &envelope.item_id,
            content_hash(&envelope.document),
        )),
        GridEvent::Rejected { topic, item_id, .. } => Some((topic, item_id, REJECTED.into())),
        _ => None,
    }
}

impl Follower {
    /// Subscribes (before fetching, so nothing published in between is
    /// missed); each topic's catch-up then comes first from [`next`](Self::next).
    pub async fn start(
        grid: &Grid,
        selection: TopicSelection,
        level: ValidationLevel,
        store: Store,
    ) -> Result<Follower, FollowError> {
        let topics = match &selection {
            TopicSelection::Named(n) => n.clone(),
            TopicSelection::AllIodef => grid
                .discover(false)
                .await?
                .into_iter()
                .map(|t| t.node)
                .collect(),
        };
        let sub = grid.subscribe(selection, level).await?;
        let mut f = Follower {
            grid: grid.clone(),
            sub,
            store,
            level,
            seen: HashMap::new(),
            queue: VecDeque::new(),
            pending: topics.iter().cloned().collect(),
            resubscribed: None,
            topics,
        };
        // The first topic now, so that a topic that cannot be read fails
        // the start rather than only showing up as a gap later.
        if let Some(first) = f.pending.pop_front() {
            f.catch_up(&first).await?;
        }
        Ok(f)
    }

    /// The topics followed (as of the last (re)subscription).
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    async fn load(&mut self, topic: &str) -> Result<(), StoreError> {
        if !self.seen.contains_key(topic) {
            let known = self.store.delivered(topic).await?;
            self.seen.insert(topic.to_string(), known);
        }
        Ok(())
    }

    /// Whether `ev` is new to the consumer; marks it as handed out.
    fn fresh(&mut self, ev: &GridEvent) -> bool {
        let Some((topic, id, hash)) = key(ev) else {
            return true;
        };
        let seen = self.seen.entry(topic.to_string()).or_default();
        if seen.get(id) == Some(&hash) {
            tracing::debug!(topic, item = id, "already delivered; skipped");
            return false;
        }
        seen.insert(id.to_string(), hash);
        true
    }

    /// Fetches what `topic` keeps and queues what the consumer has not seen.
    async fn catch_up(&mut self, topic: &str) -> Result<(), FollowError> {
        self.load(topic).await?;
        let items = self.grid.items(topic, None, None, self.level).await?;
        let known = &self.seen[topic];
        let followed_before = !known.is_empty();
        let overlap = items
            .iter()
            .filter_map(item_id)
            .any(|id| known.contains_key(id));
        if followed_before && !items.is_empty() && !overlap {
            let last = self.store.last_delivered(topic).await?;
            let detail = format!(
                "none of the {} items the broker keeps for {topic:?} had been delivered before: \
                 items published after {} and before the oldest kept one may be lost \
                 (the broker keeps only the newest items of a topic)",
                items.len(),
                last.map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "the last delivery".into()),
            );
            tracing::warn!(topic, kept = items.len(), "possible gap: {detail}");
            self.queue.push_back(GridEvent::Gap {
                topic: topic.to_string(),
                kept: items.len(),
                last_delivered: last,
                detail,
            });
        }
        let (mut new, mut old) = (0usize, 0usize);
        for ev in items {
            if self.fresh(&ev) {
                new += 1;
                self.queue.push_back(ev);
            } else {
                old += 1;
            }
        }
        tracing::info!(topic, new, already_delivered = old, "caught up");
        Ok(())
    }

    /// The next event the consumer has not seen; `None` when the session
    /// closed. After a new session, the topics are caught up first (a
    /// [`GridEvent::Resubscribed`] follows the caught-up items).
    pub async fn next(&mut self) -> Option<GridEvent> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Some(ev);
            }
            if let Some(t) = self.pending.pop_front() {
                if let Err(e) = self.catch_up(&t).await {
                    // The next new session tries again; say what is not
                    // known rather than stay silent.
                    tracing::error!(topic = %t, error = %e, "catch-up failed");
                    self.queue.push_back(GridEvent::Gap {
                        topic: t.clone(),
                        kept: 0,
                        last_delivered: self.store.last_delivered(&t).await.ok().flatten(),
                        detail: format!("catch-up failed: {e}; items published while the session was down may be missing until the next catch-up"),
                    });
                }
                continue;
            }
            if let Some(ev) = self.resubscribed.take() {
                return Some(ev);
            }
            let ev = self.sub.next().await?;
            match &ev {
                GridEvent::Resubscribed { topics } => {
                    self.topics = topics.clone();
                    self.pending = topics.iter().cloned().collect();
                    self.resubscribed = Some(ev);
                }
                GridEvent::Item { envelope, .. } => {
                    if let Err(e) = self.load(&envelope.topic.clone()).await {
                        tracing::error!(error = %e, "cursor store");
                    }
                    if self.fresh(&ev) {
                        return Some(ev);
                    }
                }
                GridEvent::Rejected { .. } => {
                    if self.fresh(&ev) {
                        return Some(ev);
                    }
                }
                // A retracted id may be published again with the same
                // content; that is a new publication, to be delivered.
                GridEvent::Retract { topic, item_id, .. } => {
                    if let Some(seen) = self.seen.get_mut(topic) {
                        seen.remove(item_id);
                    }
                    return Some(ev);
                }
                GridEvent::Purge { topic, .. } | GridEvent::Delete { topic, .. } => {
                    if let Some(seen) = self.seen.get_mut(topic) {
                        seen.clear();
                    }
                    return Some(ev);
                }
                _ => return Some(ev),
            }
        }
    }

    /// Records that the consumer has handled `ev` (items and refused
    /// payloads are recorded; retractions, purges and deletions forget).
    pub async fn delivered(&self, ev: &GridEvent) -> Result<(), StoreError> {
        match ev {
            GridEvent::Retract { topic, item_id, .. } => {
                self.store.forget_delivered(topic, Some(item_id)).await
            }
            GridEvent::Purge { topic, .. } | GridEvent::Delete { topic, .. } => {
                self.store.forget_delivered(topic, None).await
            }
            ev => match key(ev) {
                Some((topic, id, hash)) => self.store.mark_delivered(topic, id, &hash).await,
                None => Ok(()),
            },
        }
    }
}
