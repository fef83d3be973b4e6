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
use crate::grid::{next_after, older_ids, Fetched, Grid, GridError, GridEvent, RawItem, Retrieve};
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

    /// Fetches items of `topic`, keeping count of the largest answer.
    async fn fetch(
        &mut self,
        grid: &Grid,
        topic: &str,
        what: Retrieve<'_>,
    ) -> Result<Vec<RawItem>, GridError> {
        Ok(self.fetch_rsm(grid, topic, what).await?.items)
    }

    /// [`fetch`](Self::fetch) with the answer's RSM `<set/>`.
    async fn fetch_rsm(
        &mut self,
        grid: &Grid,
        topic: &str,
        what: Retrieve<'_>,
    ) -> Result<Fetched, GridError> {
        self.requests += 1;
        let fetched = grid.fetch_items(topic, what).await?;
        self.largest_fetch = self.largest_fetch.max(fetched.items.len());
        Ok(fetched)
    }

    /// Plans catching up `topic`: fetches its newest page and, when that is
    /// the whole backlog, returns it; else lists the ids and returns the
    /// plan for the older pages (see the module documentation). Changes
    /// nothing the consumer sees: the caller applies the result.
    async fn catch_up(&mut self, cx: &mut Ctx<'_>, topic: &str) -> Result<Step, FollowError> {
        load(cx.store, cx.seen, topic).await?;
        let unfinished = cx.store.is_catch_up_unfinished(topic).await?;
        let first = self
            .fetch_rsm(cx.grid, topic, Retrieve::Newest(self.page))
            .await?;
        if let Some(rsm) = first.rsm {
            // RSM pages from the start (module documentation). The ids are
            // listed only to tell whether anything kept was delivered.
            self.requests += 1;
            let listed = cx.grid.item_ids(topic).await?;
            let overlap = any_known(cx.seen, topic, listed.iter().map(String::as_str))
                || any_known(cx.seen, topic, first.items.iter().map(|i| i.id.as_str()));
            let kept = rsm.count.unwrap_or(listed.len()).max(first.items.len());
            let gap = gap_unless_overlap(cx, topic, kept, overlap).await?;
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
        let overlap = any_known(cx.seen, topic, page.iter().map(|i| i.id.as_str()));
        // A full page may hide undelivered items before it, however many
        // delivered ones it holds (module documentation): list the ids.
        if page.len() < self.page as usize {
            let gap = gap_unless_overlap(cx, topic, page.len(), overlap).await?;
            cx.store.catch_up_finished(topic).await?;
            tracing::info!(topic, fetched = page.len(), "caught up (one page)");
            return Ok(Step::Items { gap, items: page });
        }
        self.requests += 1;
        let listed = cx.grid.item_ids(topic).await?;
        let Some(mut older) = older_ids(&listed, &page) else {
            // The service's order cannot be told: everything in one answer,
            // as a client without paging would (memory not bounded).
            tracing::info!(topic, "item order unknown; catching up in one request");
            let all = self.fetch(cx.grid, topic, Retrieve::All).await?;
            let overlap = any_known(cx.seen, topic, all.iter().map(|i| i.id.as_str()));
            let gap = gap_unless_overlap(cx, topic, all.len(), overlap).await?;
            cx.store.catch_up_finished(topic).await?;
            return Ok(Step::Items { gap, items: all });
        };
        let overlap = overlap || any_known(cx.seen, topic, listed.iter().map(String::as_str));
        let gap = gap_unless_overlap(cx, topic, listed.len().max(page.len()), overlap).await?;
        if !unfinished {
            // The oldest ids, as long as every one was delivered, were
            // delivered as they are (an update would have moved an item past
            // ones delivered after it): only what follows needs fetching.
            let skip = older
                .iter()
                .take_while(|id| cx.seen.knows(topic, id))
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
    /// [`Follower::next`](super::Follower::next) midway
    /// (a `select!`) only means the step runs again. A failure becomes a
    /// [`GridEvent::Gap`] and marks the topic for a full catch-up.
    pub(super) async fn work(&mut self, cx: &mut Ctx<'_>) {
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
                let r = self.catch_up(cx, &t).await;
                (t, r.map(Some))
            }
            Todo::Batch(t, batch) => {
                let r = self.fetch(cx.grid, &t, Retrieve::Ids(&batch)).await;
                if let Ok(items) = &r {
                    tracing::debug!(topic = %t, fetched = items.len(), "older page");
                }
                let r = r.map_err(FollowError::from).map(|items| {
                    if let Some(Work::Older { ids, .. }) = self.pending.front_mut() {
                        ids.drain(..batch.len());
                    }
                    queue_raw(cx.queue, &t, items);
                    None
                });
                (t, r)
            }
            Todo::Rsm(t, after) => {
                let what = Retrieve::Page {
                    max: self.page,
                    after: after.as_deref(),
                };
                let r = self.fetch_rsm(cx.grid, &t, what).await;
                let r = r.map_err(FollowError::from).map(|fetched| {
                    let n = fetched.items.len();
                    tracing::debug!(topic = %t, fetched = n, "RSM page");
                    let next = next_after(n, self.page, fetched.rsm, after.as_deref());
                    if let Some(Work::Rsm { after, done, .. }) = self.pending.front_mut() {
                        *done = next.is_none();
                        *after = next;
                    }
                    queue_raw(cx.queue, &t, fetched.items);
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
                    if let Some(Work::Older { newest, .. }) = self.pending.pop_front() {
                        queue_raw(cx.queue, &t, newest);
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
