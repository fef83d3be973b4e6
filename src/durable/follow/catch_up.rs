//! Catching a topic up: planning from the newest page (and, when the topic
//! keeps more, the id listing or RSM pages), then fetching the older pages
//! one at a time as the consumer takes them (see the parent module's
//! documentation for why a full page is never the whole backlog).

use std::collections::VecDeque;

use super::{FollowError, Follower, Queued};
use crate::grid::{next_after, older_ids, Fetched, GridError, GridEvent, RawItem, Retrieve};
use crate::store::StoreError;

/// Catch-up work still to do, in order.
pub(super) enum Work {
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
pub(super) enum Step {
    /// The whole backlog (and the gap before it, if any).
    Items {
        gap: Option<GridEvent>,
        items: Vec<RawItem>,
    },
    /// Older pages to fetch first (and the gap before them, if any).
    Pages { gap: Option<GridEvent>, work: Work },
}

impl Follower {
    /// Fetches items of `topic`, keeping count of the largest answer.
    pub(super) async fn fetch(
        &mut self,
        topic: &str,
        what: Retrieve<'_>,
    ) -> Result<Vec<RawItem>, GridError> {
        Ok(self.fetch_rsm(topic, what).await?.items)
    }

    /// [`fetch`](Self::fetch) with the answer's RSM `<set/>`.
    pub(super) async fn fetch_rsm(
        &mut self,
        topic: &str,
        what: Retrieve<'_>,
    ) -> Result<Fetched, GridError> {
        self.requests += 1;
        let fetched = self.grid.fetch_items(topic, what).await?;
        self.largest_fetch = self.largest_fetch.max(fetched.items.len());
        Ok(fetched)
    }

    /// Whether any of `ids` was delivered on `topic`.
    pub(super) fn any_known<'a>(
        &self,
        topic: &str,
        mut ids: impl Iterator<Item = &'a str>,
    ) -> bool {
        ids.any(|id| self.seen.knows(topic, id))
    }

    /// A [`GridEvent::Gap`] when `topic` was followed before and none of the
    /// `kept` items the broker keeps had been delivered.
    pub(super) async fn gap_unless_overlap(
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
    pub(super) fn readable(&self, topics: &[String]) -> VecDeque<Work> {
        topics
            .iter()
            .filter(|t| !self.awaiting.contains(*t))
            .cloned()
            .map(Work::Topic)
            .collect()
    }

    /// Queues `items` of `topic` (checked when the consumer reaches them).
    pub(super) fn queue_raw(&mut self, topic: &str, items: Vec<RawItem>) {
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
    pub(super) async fn catch_up(&mut self, topic: &str) -> Result<Step, FollowError> {
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
    pub(super) fn apply(&mut self, topic: &str, step: Step) {
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

    pub(super) async fn finished(&self, topic: &str) -> Result<(), StoreError> {
        self.store.catch_up_finished(topic).await
    }

    /// Marks `topic`'s catch-up as not finished (logged if even that fails).
    pub(super) async fn unfinished(&self, topic: &str) {
        if let Err(e) = self.store.catch_up_unfinished(topic).await {
            tracing::error!(topic, error = %e, "cursor store: cannot record an unfinished catch-up");
        }
    }

    /// Runs the first piece of catch-up work. The work stays first in
    /// `pending` until its result is applied, and the result is applied
    /// after the last await, so that dropping [`next`](Self::next) midway
    /// (a `select!`) only means the step runs again. A failure becomes a
    /// [`GridEvent::Gap`] and marks the topic for a full catch-up.
    pub(super) async fn work(&mut self) {
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
}
