//! Pipelined items-by-id requests for paged reading (`items.rs`'s
//! [`Pager`](super::Pager)): up to [`PAGES_IN_FLIGHT`] pages of ids asked for
//! at once, their answers handed over strictly in the order asked.
//!
//! Prosody 0.12 has no RSM for items, so a topic is read by id a page at a
//! time; one request at a time leaves the broker idle while the client reads
//! each answer and the client idle while the broker builds the next. Keeping
//! a few requests outstanding overlaps the two (issue 22: catch-up within
//! 1.2× of the broker's own single items request). Each request runs in a
//! task of its own, so a caller's future dropped midway (a `select!`) loses
//! nothing: the task goes on and its answer is taken next time. Tasks still
//! running when the pages are dropped are aborted. Memory stays bounded:
//! at most `PAGES_IN_FLIGHT` answers of a page each are held beyond the
//! consumer's queue.

use std::collections::VecDeque;

use tokio::task::JoinHandle;
use tokio_xmpp::jid::Jid;

use super::retrieve::{fetch, RawItem, Retrieve};
use super::GridError;
use crate::xmpp::Session;

/// Pages of ids asked for at once (the answers not yet handed over). Prosody
/// answers one session's requests one after the other, so a few suffice to
/// keep it busy; each costs a page of memory until handed over.
pub(crate) const PAGES_IN_FLIGHT: usize = 3;

type Answer = Result<Vec<RawItem>, GridError>;

/// Requests of pages of ids, oldest first, answers not yet taken.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    tasks: VecDeque<JoinHandle<Answer>>,
    /// The most requests outstanding at once so far (answers not yet
    /// received, counted when a request is sent).
    peak: usize,
}

impl InFlight {
    /// Whether no request is outstanding or unanswered-for.
    pub(crate) fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// How many requests are waiting to be taken.
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    /// The most requests outstanding at once so far.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    /// Sends requests for the next pages of `ids` (`page` each, taken off
    /// the front of `ids`) until [`PAGES_IN_FLIGHT`] are waiting.
    pub(crate) fn fill(
        &mut self,
        session: &Session,
        service: &Jid,
        topic: &str,
        page: u32,
        ids: &mut VecDeque<String>,
    ) {
        while self.tasks.len() < PAGES_IN_FLIGHT && !ids.is_empty() {
            let take = (page as usize).min(ids.len());
            let batch: Vec<String> = ids.drain(..take).collect();
            let (session, service, topic) = (session.clone(), service.clone(), topic.to_string());
            let outstanding = 1 + self.tasks.iter().filter(|t| !t.is_finished()).count();
            self.peak = self.peak.max(outstanding);
            tracing::trace!(target: "gridlink::receive", topic = %topic, ids = batch.len(), outstanding, "catch-up page asked for");
            self.tasks.push_back(tokio::spawn(async move {
                fetch(&session, &service, &topic, Retrieve::Ids(&batch))
                    .await
                    .map(|f| f.items)
            }));
        }
    }

    /// The oldest page's answer. Cancel-safe: dropped before the answer came,
    /// the request stays first and its answer is taken next time.
    pub(crate) async fn take(&mut self) -> Option<Answer> {
        let front = self.tasks.front_mut()?;
        let joined = front.await;
        self.tasks.pop_front();
        Some(joined.unwrap_or_else(|e| {
            Err(GridError::Protocol {
                op: "retrieve a page of items".into(),
                message: format!("the request's task ended: {e}"),
            })
        }))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
