//! Following topics without loss or repetition across restarts.
//!
//! A [`Follower`] wraps a grid [`Subscription`] with a persistent delivery
//! cursor per topic: the (item id, content hash) of every item its consumer
//! has handled. On start and after every new XMPP session it fetches what
//! each topic still keeps that the consumer has not seen (XEP-0060 items
//! retrieval; Prosody keeps only the node's `max_items`), hands it over, and
//! then continues live. Live notifications and catch-up overlap on purpose;
//! the cursor drops the overlap.
//!
//! Catch-up is paged, so that memory stays bounded however much a topic
//! keeps (Prosody 0.12 offers no RSM for items):
//! * the newest page first (`max_items`): when it holds everything the
//!   topic keeps, it is the whole backlog, in one small request;
//! * otherwise the item ids are listed (disco#items on the node) and the
//!   older items fetched by id, a page at a time, oldest first, each page
//!   only when the consumer has taken the previous one; the newest page
//!   comes last. The oldest listed ids, as long as every one was delivered,
//!   are skipped, so a restart a few items behind costs the page and the
//!   listing.
//!
//! The newest page alone never stands for the backlog when the topic keeps
//! more, even when it holds items already delivered: an item published
//! again unchanged (a publisher replaying its outbox after a broker restart,
//! whose publishes on the new session overtook the retried ones of the old)
//! moves to the newest end past items that were never delivered, and
//! nothing in the page tells it apart from one that never moved. Only the
//! listing shows what lies before the page.
//!
//! A service that pages items with RSM (XEP-0059; ejabberd, which answers
//! `max_items` with a `<set/>`) is caught up differently: its newest page
//! comes newest first on SQL storage and oldest first on mnesia, with
//! nothing in the answer to tell which, so the whole topic is read in RSM
//! pages from its oldest item on (oldest first on both), each page after the
//! previous one's `<last/>`; what was delivered before is dropped by the
//! cursor. That costs a request per page on every catch-up, where Prosody's
//! usual restart costs one.
//!
//! A catch-up that fails (and the live items delivered after it) breaks the
//! "broker's order" premise, so the topic is marked in the store and caught
//! up in full until one catch-up finishes.
//!
//! Payloads are parsed, validated and converted only when the consumer
//! reaches them ([`RawItem`]s wait in the queue), never a whole topic at once.
//!
//! The consumer calls [`Follower::delivered`] once it has handled an event.
//! Only then is it recorded, so a crash before that point makes it come
//! again (at-least-once at the crash, exactly-once otherwise). The window is
//! one event: the one being handled when the process died.
//!
//! When none of the items the broker still keeps had been delivered before,
//! items may have been discarded by the broker in between: the follower says
//! so with a [`GridEvent::Gap`] instead of pretending.

use std::collections::{BTreeSet, VecDeque};

use super::seen::Seen;
use crate::grid::{
    next_after, older_ids, Fetched, Grid, GridError, GridEvent, RawItem, Retrieve, Subscription,
    TopicSelection,
};
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

/// Items per catch-up request (the default of [`Follower::start`]).
pub const CATCH_UP_PAGE: u32 = 100;

/// What waits to be handed to the consumer.
enum Queued {
    Event(GridEvent),
    /// A caught-up item, checked and converted when the consumer reaches it.
    Raw(String, RawItem),
}

/// Catch-up work still to do, in order.
enum Work {
    /// Catch up this topic, newest page first.
    Topic(String),
    /// The topic's items older than its newest page, by id, oldest first;
    /// then the newest page itself.
    Older {
        topic: String,
        ids: VecDeque<String>,
        newest: Vec<RawItem>,
    },
    /// The topic's items in RSM pages, oldest first, from after the item
    /// whose RSM id is `after` (from the start when `None`); `done` once the
    /// last page was queued.
    Rsm {
        topic: String,
        after: Option<String>,
        done: bool,
    },
}

/// What planning a topic's catch-up found.
enum Step {
    /// The whole backlog (and the gap before it, if any).
    Items {
        gap: Option<GridEvent>,
        items: Vec<RawItem>,
    },
    /// Older pages to fetch first (and the gap before them, if any).
    Pages { gap: Option<GridEvent>, work: Work },
}

/// A subscription with catch-up and a persistent per-topic cursor.
pub struct Follower {
    grid: Grid,
    sub: Subscription,
    store: Store,
    level: ValidationLevel,
    page: u32,
    /// Per topic: item id → content, delivered or handed out.
    seen: Seen,
    queue: VecDeque<Queued>,
    /// Catch-up still to do, one topic at a time, so that only one topic's
    /// page is in memory at once.
    pending: VecDeque<Work>,
    /// The `Resubscribed`, `Lagged`, `TopicsAdded` or `Approved` event,
    /// emitted once its topics are caught up.
    resubscribed: Option<GridEvent>,
    topics: Vec<String>,
    /// Topics whose subscription waits for the owner's approval: their
    /// items may not be read yet, so they are caught up once approved.
    awaiting: BTreeSet<String>,
    /// The most items one catch-up answer held so far.
    largest_fetch: usize,
    /// Catch-up requests made so far (item fetches and id listings).
    requests: usize,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("topics", &self.topics)
            .field("queued", &self.queue.len())
            .field("page", &self.page)
            .finish_non_exhaustive()
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
    /// Catch-up fetches [`CATCH_UP_PAGE`] items per request.
    pub async fn start(
        grid: &Grid,
        selection: TopicSelection,
        level: ValidationLevel,
        store: Store,
    ) -> Result<Follower, FollowError> {
        Follower::start_paged(grid, selection, level, store, CATCH_UP_PAGE).await
    }

    /// [`start`](Self::start) with `page` items per catch-up request (at
    /// least 2). Smaller pages bound memory more tightly; each request costs
    /// a round trip.
    pub async fn start_paged(
        grid: &Grid,
        selection: TopicSelection,
        level: ValidationLevel,
        store: Store,
        page: u32,
    ) -> Result<Follower, FollowError> {
        // The subscription resolves the selection (discovery for all IODEF
        // topics) once; its topics are the ones caught up.
        let sub = grid.subscribe(selection, level).await?;
        let topics = sub.topics().to_vec();
        let awaiting: BTreeSet<String> = sub.pending().iter().cloned().collect();
        let mut f = Follower {
            grid: grid.clone(),
            sub,
            store,
            level,
            page: page.max(2),
            seen: Seen::new(),
            queue: VecDeque::new(),
            pending: topics
                .iter()
                .filter(|t| !awaiting.contains(*t))
                .cloned()
                .map(Work::Topic)
                .collect(),
            resubscribed: None,
            topics,
            awaiting,
            largest_fetch: 0,
            requests: 0,
        };
        // The first topic now, so that a topic that cannot be read fails
        // the start rather than only showing up as a gap later.
        if let Some(Work::Topic(first)) = f.pending.pop_front() {
            match f.catch_up(&first).await {
                Ok(step) => f.apply(&first, step),
                Err(e) => {
                    f.unfinished(&first).await;
                    return Err(e);
                }
            }
        }
        Ok(f)
    }

    /// The topics followed (as of the last (re)subscription).
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// The most items one catch-up answer has held so far: at most the page
    /// size, unless a service listed its items in an order that could not be
    /// told and a topic was fetched in one request.
    pub fn largest_fetch(&self) -> usize {
        self.largest_fetch
    }

    /// How many requests catching up has made so far: item fetches and id
    /// listings. A restart a few items behind takes one.
    pub fn catch_up_requests(&self) -> usize {
        self.requests
    }

    /// Fetches items of `topic`, keeping count of the largest answer.
    async fn fetch(&mut self, topic: &str, what: Retrieve<'_>) -> Result<Vec<RawItem>, GridError> {
        Ok(self.fetch_rsm(topic, what).await?.items)
    }

    /// [`fetch`](Self::fetch) with the answer's RSM `<set/>`.
    async fn fetch_rsm(&mut self, topic: &str, what: Retrieve<'_>) -> Result<Fetched, GridError> {
        self.requests += 1;
        let fetched = self.grid.fetch_items(topic, what).await?;
        self.largest_fetch = self.largest_fetch.max(fetched.items.len());
        Ok(fetched)
    }

    async fn load(&mut self, topic: &str) -> Result<(), StoreError> {
        if !self.seen.is_loaded(topic) {
            let known = self.store.delivered(topic).await?;
            self.seen.load(topic, known);
        }
        Ok(())
    }

    /// Whether `ev` is new to the consumer; marks it as handed out.
    fn fresh(&mut self, ev: &GridEvent) -> bool {
        let Some((topic, id, hash)) = key(ev) else {
            return true;
        };
        if !self.seen.mark(topic, id, &hash) {
            tracing::debug!(topic, item = id, "already delivered; skipped");
            return false;
        }
        true
    }

    /// Whether any of `ids` was delivered on `topic`.
    fn any_known<'a>(&self, topic: &str, mut ids: impl Iterator<Item = &'a str>) -> bool {
        ids.any(|id| self.seen.knows(topic, id))
    }

    /// A [`GridEvent::Gap`] when `topic` was followed before and none of the
    /// `kept` items the broker keeps had been delivered.
    async fn gap_unless_overlap(
        &self,
        topic: &str,
        kept: usize,
        overlap: bool,
    ) -> Result<Option<GridEvent>, FollowError> {
        let followed_before = self.seen.followed_before(topic);
        if !followed_before || kept == 0 || overlap {
            return Ok(None);
        }
        let last = self.store.last_delivered(topic).await?;
        let detail = format!(
            "none of the {kept} items the broker keeps for {topic:?} had been delivered before: \
             items published after {} and before the oldest kept one may be lost \
             (the broker keeps only the newest items of a topic)",
            last.map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "the last delivery".into()),
        );
        tracing::warn!(topic, kept, "possible gap: {detail}");
        Ok(Some(GridEvent::Gap {
            topic: topic.to_string(),
            kept,
            last_delivered: last,
            detail,
        }))
    }

    /// Catch-up work for those of `topics` not awaiting approval.
    fn readable(&self, topics: &[String]) -> VecDeque<Work> {
        topics
            .iter()
            .filter(|t| !self.awaiting.contains(*t))
            .cloned()
            .map(Work::Topic)
            .collect()
    }

    /// Queues `items` of `topic` (checked when the consumer reaches them).
    fn queue_raw(&mut self, topic: &str, items: Vec<RawItem>) {
        self.queue.extend(
            items
                .into_iter()
                .map(|item| Queued::Raw(topic.to_string(), item)),
        );
    }

    /// Plans catching up `topic`: fetches its newest page and, when that is
    /// the whole backlog, returns it; else lists the ids and returns the
    /// plan for the older pages (see the module documentation). Changes
    /// nothing the consumer sees: the caller applies the result.
    async fn catch_up(&mut self, topic: &str) -> Result<Step, FollowError> {
        self.load(topic).await?;
        let unfinished = self.store.is_catch_up_unfinished(topic).await?;
        let first = self.fetch_rsm(topic, Retrieve::Newest(self.page)).await?;
        if let Some(rsm) = first.rsm {
            // RSM pages from the start (module documentation). The ids are
            // listed only to tell whether anything kept was delivered.
            self.requests += 1;
            let listed = self.grid.item_ids(topic).await?;
            let overlap = self.any_known(topic, listed.iter().map(String::as_str))
                || self.any_known(topic, first.items.iter().map(|i| i.id.as_str()));
            let kept = rsm.count.unwrap_or(listed.len()).max(first.items.len());
            let gap = self.gap_unless_overlap(topic, kept, overlap).await?;
            tracing::info!(topic, kept, page = self.page, "catching up in RSM pages");
            return Ok(Step::Pages {
                gap,
                work: Work::Rsm {
                    topic: topic.to_string(),
                    after: None,
                    done: false,
                },
            });
        }
        let page = first.items;
        let overlap = self.any_known(topic, page.iter().map(|i| i.id.as_str()));
        // A full page may hide undelivered items before it, however many
        // delivered ones it holds (module documentation): list the ids.
        if page.len() < self.page as usize {
            let gap = self.gap_unless_overlap(topic, page.len(), overlap).await?;
            self.finished(topic).await?;
            tracing::info!(topic, fetched = page.len(), "caught up (one page)");
            return Ok(Step::Items { gap, items: page });
        }
        self.requests += 1;
        let listed = self.grid.item_ids(topic).await?;
        let Some(mut older) = older_ids(&listed, &page) else {
            // The service's order cannot be told: everything in one answer,
            // as a client without paging would (memory not bounded).
            tracing::info!(topic, "item order unknown; catching up in one request");
            let all = self.fetch(topic, Retrieve::All).await?;
            let overlap = self.any_known(topic, all.iter().map(|i| i.id.as_str()));
            let gap = self.gap_unless_overlap(topic, all.len(), overlap).await?;
            self.finished(topic).await?;
            return Ok(Step::Items { gap, items: all });
        };
        let overlap = overlap || self.any_known(topic, listed.iter().map(String::as_str));
        let gap = self
            .gap_unless_overlap(topic, listed.len().max(page.len()), overlap)
            .await?;
        if !unfinished {
            // The oldest ids, as long as every one was delivered, were
            // delivered as they are (an update would have moved an item past
            // ones delivered after it): only what follows needs fetching.
            let skip = older
                .iter()
                .take_while(|id| self.seen.knows(topic, id))
                .count();
            older.drain(..skip);
        }
        tracing::info!(
            topic,
            kept = listed.len(),
            older = older.len(),
            page = self.page,
            "catching up in pages"
        );
        Ok(Step::Pages {
            gap,
            work: Work::Older {
                topic: topic.to_string(),
                ids: older.into(),
                newest: page,
            },
        })
    }

    /// Queues what a catch-up plan found (no await: see [`work`](Self::work)).
    fn apply(&mut self, topic: &str, step: Step) {
        match step {
            Step::Items { gap, items } => {
                self.queue.extend(gap.map(Queued::Event));
                self.queue_raw(topic, items);
            }
            Step::Pages { gap, work } => {
                self.queue.extend(gap.map(Queued::Event));
                self.pending.push_front(work);
            }
        }
    }

    async fn finished(&self, topic: &str) -> Result<(), StoreError> {
        self.store.catch_up_finished(topic).await
    }

    /// Marks `topic`'s catch-up as not finished (logged if even that fails).
    async fn unfinished(&self, topic: &str) {
        if let Err(e) = self.store.catch_up_unfinished(topic).await {
            tracing::error!(topic, error = %e, "cursor store: cannot record an unfinished catch-up");
        }
    }

    /// Runs the first piece of catch-up work. The work stays first in
    /// `pending` until its result is applied, and the result is applied
    /// after the last await, so that dropping [`next`](Self::next) midway
    /// (a `select!`) only means the step runs again. A failure becomes a
    /// [`GridEvent::Gap`] and marks the topic for a full catch-up.
    async fn work(&mut self) {
        enum Todo {
            Topic(String),
            Batch(String, Vec<String>),
            Rsm(String, Option<String>),
            Done(String),
        }
        let todo = match self.pending.front() {
            None => return,
            Some(Work::Topic(t)) => Todo::Topic(t.clone()),
            Some(Work::Rsm {
                topic, done: true, ..
            }) => Todo::Done(topic.clone()),
            Some(Work::Rsm { topic, after, .. }) => Todo::Rsm(topic.clone(), after.clone()),
            Some(Work::Older { topic, ids, .. }) if ids.is_empty() => Todo::Done(topic.clone()),
            Some(Work::Older { topic, ids, .. }) => Todo::Batch(
                topic.clone(),
                ids.iter().take(self.page as usize).cloned().collect(),
            ),
        };
        let (topic, result) = match todo {
            Todo::Topic(t) => {
                let r = self.catch_up(&t).await;
                (t, r.map(Some))
            }
            Todo::Batch(t, batch) => {
                let r = self.fetch(&t, Retrieve::Ids(&batch)).await;
                if let Ok(items) = &r {
                    tracing::debug!(topic = %t, fetched = items.len(), "older page");
                }
                let r = r.map_err(FollowError::from).map(|items| {
                    if let Some(Work::Older { ids, .. }) = self.pending.front_mut() {
                        ids.drain(..batch.len());
                    }
                    self.queue_raw(&t, items);
                    None
                });
                (t, r)
            }
            Todo::Rsm(t, after) => {
                let what = Retrieve::Page {
                    max: self.page,
                    after: after.as_deref(),
                };
                let r = self.fetch_rsm(&t, what).await;
                let r = r.map_err(FollowError::from).map(|fetched| {
                    let n = fetched.items.len();
                    tracing::debug!(topic = %t, fetched = n, "RSM page");
                    let next = next_after(n, self.page, fetched.rsm, after.as_deref());
                    if let Some(Work::Rsm { after, done, .. }) = self.pending.front_mut() {
                        *done = next.is_none();
                        *after = next;
                    }
                    self.queue_raw(&t, fetched.items);
                    None
                });
                (t, r)
            }
            Todo::Done(t) => {
                let r = self.finished(&t).await.map_err(FollowError::from);
                if r.is_ok() {
                    tracing::info!(topic = %t, "caught up");
                    if let Some(Work::Older { newest, .. }) = self.pending.pop_front() {
                        self.queue_raw(&t, newest);
                    }
                }
                (t, r.map(|()| None))
            }
        };
        match result {
            Ok(None) => {}
            Ok(Some(step)) => {
                self.pending.pop_front();
                self.apply(&topic, step);
            }
            Err(e) => {
                // The next new session tries again; say what is not known
                // rather than stay silent.
                tracing::error!(topic = %topic, error = %e, "catch-up failed");
                self.unfinished(&topic).await;
                let last_delivered = self.store.last_delivered(&topic).await.ok().flatten();
                self.pending.pop_front();
                self.queue.push_back(Queued::Event(GridEvent::Gap {
                    topic: topic.clone(),
                    kept: 0,
                    last_delivered,
                    detail: format!("catch-up failed: {e}; items published while the session was down may be missing until the next catch-up"),
                }));
            }
        }
    }

    /// The next event the consumer has not seen; `None` when the session
    /// closed. After a new session, the topics are caught up first (a
    /// [`GridEvent::Resubscribed`] follows the caught-up items).
    pub async fn next(&mut self) -> Option<GridEvent> {
        loop {
            match self.queue.pop_front() {
                Some(Queued::Event(ev)) => return Some(ev),
                Some(Queued::Raw(topic, item)) => {
                    let ev = item.into_event(&topic, self.level);
                    if self.fresh(&ev) {
                        return Some(ev);
                    }
                    continue;
                }
                None => {}
            }
            if !self.pending.is_empty() {
                // The previous page's documents, trees and stanzas are all
                // freed now: give the space back before the next page
                // (glibc keeps it otherwise; see `crate::memory`).
                crate::memory::release_free_memory();
                self.work().await;
                continue;
            }
            if let Some(ev) = self.resubscribed.take() {
                return Some(ev);
            }
            let ev = self.sub.next().await?;
            match &ev {
                // Notifications may have been missed (a new session, or
                // dropped for a slow consumer): catch every topic up, then
                // pass the event on.
                GridEvent::Resubscribed { topics } | GridEvent::Lagged { topics, .. } => {
                    self.topics = topics.clone();
                    self.pending = self.readable(topics);
                    self.resubscribed = Some(ev);
                }
                // New topics (following every IODEF topic): what they
                // published before the subscription is only in their items.
                GridEvent::TopicsAdded { added, topics } => {
                    self.topics = topics.clone();
                    self.pending = self.readable(added);
                    self.resubscribed = Some(ev);
                }
                // The topic's items may not be read until the owner approves.
                GridEvent::Pending { topic } => {
                    self.awaiting.insert(topic.clone());
                    return Some(ev);
                }
                GridEvent::Approved { topic } => {
                    self.awaiting.remove(topic);
                    self.pending = VecDeque::from([Work::Topic(topic.clone())]);
                    self.resubscribed = Some(ev);
                }
                GridEvent::Unsubscribed { topic } => {
                    self.awaiting.remove(topic);
                    return Some(ev);
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
                    self.seen.forget(topic, item_id);
                    return Some(ev);
                }
                GridEvent::Purge { topic, .. } | GridEvent::Delete { topic, .. } => {
                    self.seen.clear(topic);
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
