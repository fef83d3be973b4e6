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
//!   older items fetched by id, a page per request, oldest first, a few
//!   pages ahead of the consumer (`grid/inflight.rs`: the broker builds the
//!   next answers while the consumer reads one; handed over in order); the
//!   newest page comes last. The oldest listed ids, as long as every one was
//!   delivered, are skipped, so a restart a few items behind costs the page
//!   and the listing. When the topic likely keeps more than a page (a new
//!   or unfinished cursor, or one that delivered a page's worth) the
//!   listing is asked for together with the newest page: one round trip
//!   less.
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
//! usual restart costs one. Starting `<after/>` the last delivered position
//! instead would not be loss-free: on ejabberd 23.01 the RSM order is by
//! *first* publication, and an item published again (changed or not) keeps
//! its place and its RSM id, so its update would lie before that position
//! (`tests/ejabberd_rsm.rs`). RSM pages depend on the previous `<last/>`,
//! so they are not pipelined either (`<index/>` is honoured, but a
//! retraction during the catch-up would shift the pages and skip an item).
//!
//! A catch-up that fails (and the live items delivered after it) breaks the
//! "broker's order" premise, so the topic is marked in the store and caught
//! up in full until one catch-up finishes.
//!
//! Payloads are parsed, validated and converted only when the consumer
//! reaches them ([`RawItem`](crate::grid::RawItem)s wait in the queue), never a whole topic at once.
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
use crate::grid::{Grid, GridEvent, Subscription, TopicSelection};
use crate::iodef::ValidationLevel;
use crate::store::{content_hash, Store, StoreError};
use catch_up::{CatchUp, Ctx, Queued};

mod catch_up;
mod error;

pub use error::FollowError;

/// The cursor value recorded for a refused payload (it has no document).
const REJECTED: &str = "rejected";

/// Items per catch-up request (the default of [`Follower::start`]).
pub const CATCH_UP_PAGE: u32 = 100;

/// A subscription with catch-up and a persistent per-topic cursor.
pub struct Follower {
    grid: Grid,
    sub: Subscription,
    store: Store,
    level: ValidationLevel,
    /// Per topic: item id → content, delivered or handed out.
    seen: Seen,
    queue: VecDeque<Queued>,
    /// Catch-up still to do (`catch_up.rs`).
    catch_up: CatchUp,
    /// The `Resubscribed`, `Lagged`, `TopicsAdded` or `Approved` event,
    /// emitted once its topics are caught up.
    resubscribed: Option<GridEvent>,
    topics: Vec<String>,
    /// Topics whose subscription waits for the owner's approval: their
    /// items may not be read yet, so they are caught up once approved.
    awaiting: BTreeSet<String>,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("topics", &self.topics)
            .field("queued", &self.queue.len())
            .field("page", &self.catch_up.page())
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
    ///
    /// Connect `grid` as `gridlink subscribe` does, with
    /// [`StreamManagement::for_follower`](crate::config::StreamManagement::for_follower)
    /// (XEP-0198 off unless asked for): catch-up already covers a new
    /// session, and the broker is spared a copy of every stanza it sends
    /// (BENCHMARKS.md, fan-out and catch-up).
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
        let readable = topics.iter().filter(|t| !awaiting.contains(*t)).cloned();
        let mut f = Follower {
            grid: grid.clone(),
            sub,
            store,
            level,
            seen: Seen::new(),
            queue: VecDeque::new(),
            catch_up: CatchUp::new(page.max(2), readable),
            resubscribed: None,
            topics,
            awaiting,
        };
        // The first topic now, so that a topic that cannot be read fails
        // the start rather than only showing up as a gap later.
        let (catch_up, mut cx) = f.catching_up();
        catch_up.first(&mut cx).await?;
        Ok(f)
    }

    /// The store holding the cursor (the sinks' journal goes there too).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The topics followed (as of the last (re)subscription).
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// Whether everything the topics kept has been handed out, so that the
    /// next event waits for a new publication (or a new session). Does the
    /// catch-up work [`next`](Self::next) would do first, and drops items
    /// already delivered, so that `true` means the consumer is really
    /// waiting (nothing is lost: a fresh item stays first in line).
    pub async fn caught_up(&mut self) -> bool {
        loop {
            match self.queue.pop_front() {
                Some(Queued::Event(ev)) => {
                    self.queue.push_front(Queued::Event(ev));
                    return false;
                }
                Some(Queued::Raw(topic, item)) => {
                    let ev = item.into_event(&topic, self.level, self.grid.item_json());
                    if self.fresh(&ev) {
                        self.queue.push_front(Queued::Event(ev));
                        return false;
                    }
                    continue;
                }
                None => {}
            }
            if !self.catch_up.busy() {
                return self.resubscribed.is_none();
            }
            crate::memory::release_free_memory();
            let (catch_up, mut cx) = self.catching_up();
            catch_up.work(&mut cx).await;
        }
    }

    /// The most items one catch-up answer has held so far: at most the page
    /// size, unless a service listed its items in an order that could not be
    /// told and a topic was fetched in one request.
    pub fn largest_fetch(&self) -> usize {
        self.catch_up.largest_fetch()
    }

    /// How many requests catching up has made so far: item fetches and id
    /// listings. A restart a few items behind takes one.
    pub fn catch_up_requests(&self) -> usize {
        self.catch_up.requests()
    }

    /// The most catch-up requests outstanding at once so far: pages of
    /// older items are asked for a few at a time, and the id listing goes
    /// out with the newest page when the topic likely keeps more than one.
    pub fn catch_up_peak_in_flight(&self) -> usize {
        self.catch_up.peak_in_flight()
    }

    /// The catch-up state and what it works with, borrowed apart.
    fn catching_up(&mut self) -> (&mut CatchUp, Ctx<'_>) {
        let cx = Ctx {
            grid: &self.grid,
            store: &self.store,
            seen: &mut self.seen,
            queue: &mut self.queue,
        };
        (&mut self.catch_up, cx)
    }

    /// Those of `topics` whose items may be read (not awaiting approval).
    fn readable(&self, topics: &[String]) -> Vec<String> {
        let readable = topics.iter().filter(|t| !self.awaiting.contains(*t));
        readable.cloned().collect()
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

    /// The next event the consumer has not seen; `None` when the session
    /// closed. After a new session, the topics are caught up first (a
    /// [`GridEvent::Resubscribed`] follows the caught-up items).
    pub async fn next(&mut self) -> Option<GridEvent> {
        loop {
            match self.queue.pop_front() {
                Some(Queued::Event(ev)) => return Some(ev),
                Some(Queued::Raw(topic, item)) => {
                    let ev = item.into_event(&topic, self.level, self.grid.item_json());
                    if self.fresh(&ev) {
                        return Some(ev);
                    }
                    continue;
                }
                None => {}
            }
            if self.catch_up.busy() {
                // The previous page's documents, trees and stanzas are all
                // freed now: give the space back before the next page
                // (glibc keeps it otherwise; see `crate::memory`).
                crate::memory::release_free_memory();
                let (catch_up, mut cx) = self.catching_up();
                catch_up.work(&mut cx).await;
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
                    self.catch_up.restart(self.readable(topics));
                    self.resubscribed = Some(ev);
                }
                // New topics (following every IODEF topic): what they
                // published before the subscription is only in their items.
                GridEvent::TopicsAdded { added, topics } => {
                    self.topics = topics.clone();
                    self.catch_up.restart(self.readable(added));
                    self.resubscribed = Some(ev);
                }
                // The topic's items may not be read until the owner approves.
                GridEvent::Pending { topic } => {
                    self.awaiting.insert(topic.clone());
                    return Some(ev);
                }
                GridEvent::Approved { topic } => {
                    self.awaiting.remove(topic);
                    self.catch_up.restart([topic.clone()]);
                    self.resubscribed = Some(ev);
                }
                GridEvent::Unsubscribed { topic } => {
                    self.awaiting.remove(topic);
                    return Some(ev);
                }
                GridEvent::Item { envelope, .. } => {
                    tracing::trace!(target: "gridlink::receive", hop = "follower", item = %envelope.item_id, "live item taken by the follower");
                    let topic = &envelope.topic;
                    if let Err(e) = catch_up::load(&self.store, &mut self.seen, topic).await {
                        tracing::error!(error = %e, "cursor store");
                    }
                    if self.fresh(&ev) {
                        tracing::trace!(target: "gridlink::receive", hop = "consumer", "live item handed to the consumer");
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
