//! Catching a topic up: planning from the newest page (and, when the topic
//! keeps more, the id listing or RSM pages), then fetching the older pages
//! one at a time as the consumer takes them (see the parent module's
//! documentation for why a full page is never the whole backlog).
//!
//! [`CatchUp`] holds the work still to do; what it works with (the grid,
//! the cursor store, the follower's view of its cursor and its queue) is
//! lent to it for each step as a [`Ctx`], so that this file does not
//! depend on the [`Follower`](super::Follower) that drives it.

use std::collections::VecDeque;

use super::super::seen::Seen;
use super::error::FollowError;
use crate::grid::{Grid, GridEvent, Pager, RawItem, Read};
use crate::store::{Store, StoreError};

/// What waits to be handed to the consumer.
pub(super) enum Queued {
    Event(GridEvent),
    /// A caught-up item, checked and converted when the consumer reaches it.
    Raw(String, RawItem),
}

/// What catch-up works with, lent by the follower for one step.
pub(super) struct Ctx<'a> {
    pub grid: &'a Grid,
    pub store: &'a Store,
    /// Per topic: item id → content, delivered or handed out.
    pub seen: &'a mut Seen,
    /// What the consumer gets next; catch-up appends to it.
    pub queue: &'a mut VecDeque<Queued>,
}

/// Catch-up still to do, one topic at a time, so that only one topic's
/// page is in memory at once; and what it cost so far.
pub(super) struct CatchUp {
    /// Items per request (at least 2).
    page: u32,
    pending: VecDeque<Work>,
    /// The most items one catch-up answer held so far.
    largest_fetch: usize,
    /// Catch-up requests made so far (item fetches and id listings).
    requests: usize,
    /// The most catch-up requests outstanding at once so far.
    peak_in_flight: usize,
}

/// Catch-up work still to do, in order.
enum Work {
    /// Catch up this topic, newest page first.
    Topic(String),
    /// The rest of the topic's items, page by page, oldest first (the
    /// newest page last when the pages are older items by id).
    Pages { topic: String, pager: Pager },
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

/// Loads `topic`'s cursor from the store unless it is in memory already.
pub(super) async fn load(store: &Store, seen: &mut Seen, topic: &str) -> Result<(), StoreError> {
    if !seen.is_loaded(topic) {
        let known = store.delivered(topic).await?;
        seen.load(topic, known);
    }
    Ok(())
}

/// Whether any of `ids` was delivered on `topic`.
fn any_known<'a>(seen: &Seen, topic: &str, mut ids: impl Iterator<Item = &'a str>) -> bool {
    ids.any(|id| seen.knows(topic, id))
}

/// A [`GridEvent::Gap`] when `topic` was followed before and none of the
/// `kept` items the broker keeps had been delivered.
async fn gap_unless_overlap(
    cx: &Ctx<'_>,
    topic: &str,
    kept: usize,
    overlap: bool,
) -> Result<Option<GridEvent>, FollowError> {
    let followed_before = cx.seen.followed_before(topic);
    if !followed_before || kept == 0 || overlap {
        return Ok(None);
    }
    let last = cx.store.last_delivered(topic).await?;
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

/// Queues `items` of `topic` (checked when the consumer reaches them).
fn queue_raw(queue: &mut VecDeque<Queued>, topic: &str, items: Vec<RawItem>) {
    queue.extend(
        items
            .into_iter()
            .map(|item| Queued::Raw(topic.to_string(), item)),
    );
}

/// Marks `topic`'s catch-up as not finished (logged if even that fails).
pub(super) async fn unfinished(store: &Store, topic: &str) {
    if let Err(e) = store.catch_up_unfinished(topic).await {
        tracing::error!(topic, error = %e, "cursor store: cannot record an unfinished catch-up");
    }
}

impl CatchUp {
    /// Catch-up of `topics`, in order, `page` items per request.
    pub(super) fn new(page: u32, topics: impl IntoIterator<Item = String>) -> CatchUp {
        CatchUp {
            page,
            pending: topics.into_iter().map(Work::Topic).collect(),
            largest_fetch: 0,
            requests: 0,
            peak_in_flight: 0,
        }
    }

    /// Items per request.
    pub(super) fn page(&self) -> u32 {
        self.page
    }

    /// The most items one catch-up answer has held so far.
    pub(super) fn largest_fetch(&self) -> usize {
        self.largest_fetch
    }

    /// Catch-up requests made so far.
    pub(super) fn requests(&self) -> usize {
        self.requests
    }

    /// The most catch-up requests outstanding at once so far.
    pub(super) fn peak_in_flight(&self) -> usize {
        self.peak_in_flight
    }

    /// Whether work is left.
    pub(super) fn busy(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Drops the work left and catches up `topics` instead.
    pub(super) fn restart(&mut self, topics: impl IntoIterator<Item = String>) {
        self.pending = topics.into_iter().map(Work::Topic).collect();
    }

    /// Catches up the first topic now (so that a topic that cannot be read
    /// fails the start rather than only showing up as a gap later).
    pub(super) async fn first(&mut self, cx: &mut Ctx<'_>) -> Result<(), FollowError> {
        if let Some(Work::Topic(first)) = self.pending.pop_front() {
            match self.catch_up(cx, &first).await {
                Ok(step) => self.apply(cx, &first, step),
                Err(e) => {
                    unfinished(cx.store, &first).await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Plans catching up `topic`: fetches its newest page and, when that is
    /// the whole backlog, returns it; else lists the ids and returns the
    /// plan for the older pages (see the module documentation). Changes
    /// nothing the consumer sees: the caller applies the result.
    async fn catch_up(&mut self, cx: &mut Ctx<'_>, topic: &str) -> Result<Step, FollowError> {
        load(cx.store, cx.seen, topic).await?;
        let unfinished = cx.store.is_catch_up_unfinished(topic).await?;
        // The listing goes out with the newest page when the topic likely
        // keeps more than a page: a new or unfinished cursor (a full
        // catch-up), or one that has delivered a page's worth. A restart of
        // a small topic keeps its single request.
        let list_early = unfinished
            || !cx.seen.followed_before(topic)
            || cx.seen.count(topic) >= self.page as usize;
        let plan = cx.grid.plan_pages(topic, self.page, list_early).await?;
        self.requests += plan.requests;
        self.peak_in_flight = self.peak_in_flight.max(plan.peak_in_flight);
        self.largest_fetch = self.largest_fetch.max(plan.largest);
        // A full page may hide undelivered items before it, however many
        // delivered ones it holds (module documentation): the plan lists
        // the ids then, and what was delivered is told from all of them.
        let overlap = any_known(cx.seen, topic, plan.ids.iter().map(String::as_str));
        let gap = gap_unless_overlap(cx, topic, plan.kept, overlap).await?;
        let (kept, page) = (plan.kept, self.page);
        let mut pager = match plan.read {
            Read::Whole { items, unordered } => {
                if unordered {
                    // The service's order cannot be told: everything in one
                    // answer, as a client without paging would (memory not
                    // bounded).
                    tracing::info!(topic, "item order unknown; caught up in one request");
                } else {
                    tracing::info!(topic, fetched = items.len(), "caught up (one page)");
                }
                cx.store.catch_up_finished(topic).await?;
                return Ok(Step::Items { gap, items });
            }
            Read::Pages(pager) => pager,
        };
        if pager.is_rsm() {
            // RSM pages from the start (module documentation).
            tracing::info!(topic, kept, page, "catching up in RSM pages");
        } else {
            if !unfinished {
                // The oldest ids, as long as every one was delivered, were
                // delivered as they are (an update would have moved an item
                // past ones delivered after it): only what follows needs
                // fetching.
                pager.skip_oldest_while(|id| cx.seen.knows(topic, id));
            }
            let older = pager.older();
            tracing::info!(topic, kept, older, page, "catching up in pages");
        }
        Ok(Step::Pages {
            gap,
            work: Work::Pages {
                topic: topic.to_string(),
                pager,
            },
        })
    }

    /// Queues what a catch-up plan found (no await: see [`work`](Self::work)).
    fn apply(&mut self, cx: &mut Ctx<'_>, topic: &str, step: Step) {
        match step {
            Step::Items { gap, items } => {
                cx.queue.extend(gap.map(Queued::Event));
                queue_raw(cx.queue, topic, items);
            }
            Step::Pages { gap, work } => {
                cx.queue.extend(gap.map(Queued::Event));
                self.pending.push_front(work);
            }
        }
    }

    /// Runs the first piece of catch-up work. The work stays first in
    /// `pending` until its result is applied, and the result is applied
    /// after the last await, so that dropping
    /// [`Follower::next`](super::Follower::next) midway (a `select!`) only
    /// means the step runs again (a [`Pager`] changes only once its answer
    /// came). A failure becomes a [`GridEvent::Gap`] and marks the topic for
    /// a full catch-up.
    pub(super) async fn work(&mut self, cx: &mut Ctx<'_>) {
        enum Todo {
            Topic(String),
            Page(String),
            Done(String),
        }
        let todo = match self.pending.front() {
            None => return,
            Some(Work::Topic(t)) => Todo::Topic(t.clone()),
            Some(Work::Pages { topic, pager }) if pager.remaining() => Todo::Page(topic.clone()),
            Some(Work::Pages { topic, .. }) => Todo::Done(topic.clone()),
        };
        let (topic, result) = match todo {
            Todo::Topic(t) => {
                let r = self.catch_up(cx, &t).await;
                (t, r.map(Some))
            }
            Todo::Page(t) => {
                let Some(Work::Pages { pager, .. }) = self.pending.front_mut() else {
                    return;
                };
                self.requests += 1;
                let r = cx.grid.next_page(pager).await.map_err(FollowError::from);
                self.peak_in_flight = self.peak_in_flight.max(pager.peak_in_flight());
                let r = r.map(|items| {
                    self.largest_fetch = self.largest_fetch.max(items.len());
                    queue_raw(cx.queue, &t, items);
                    None
                });
                (t, r)
            }
            Todo::Done(t) => {
                let r = cx
                    .store
                    .catch_up_finished(&t)
                    .await
                    .map_err(FollowError::from);
                if r.is_ok() {
                    tracing::info!(topic = %t, "caught up");
                    if let Some(Work::Pages { pager, .. }) = self.pending.pop_front() {
                        queue_raw(cx.queue, &t, pager.into_newest());
                    }
                }
                (t, r.map(|()| None))
            }
        };
        match result {
            Ok(None) => {}
            Ok(Some(step)) => {
                self.pending.pop_front();
                self.apply(cx, &topic, step);
            }
            Err(e) => {
                // The next new session tries again; say what is not known
                // rather than stay silent.
                tracing::error!(topic = %topic, error = %e, "catch-up failed");
                unfinished(cx.store, &topic).await;
                let last_delivered = cx.store.last_delivered(&topic).await.ok().flatten();
                self.pending.pop_front();
                cx.queue.push_back(Queued::Event(GridEvent::Gap {
                    topic: topic.clone(),
                    kept: 0,
                    last_delivered,
                    detail: format!("catch-up failed: {e}; items published while the session was down may be missing until the next catch-up"),
                }));
            }
        }
    }
}
