//! One own-cursor sink's task: reads the journal after its cursor, a batch
//! at a time, hands the batch to the sink, and moves its cursor past what
//! the receiver accepted (or refused for good, into the dead-letter file).
//! Failures are retried with exponential backoff, forever: nothing is
//! dropped, the journal keeps what waits.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::dead_letter::DeadLetter;
use super::line::from_line;
use super::monitor::SinkStats;
use super::turn::{Turn, RENEW_EVERY};
use crate::grid::GridEvent;
use crate::sink::{Outcome, Sink};
use crate::store::Store;

/// Backoff between failed attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
    pub min: Duration,
    /// The longest wait (the wait doubles up to it).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            min: Duration::from_millis(200),
            max: Duration::from_secs(30),
        }
    }
}

/// One sink's task and what it works with.
pub(super) struct Worker {
    pub(super) sink: Box<dyn Sink>,
    pub(super) store: Store,
    pub(super) stats: Arc<SinkStats>,
    pub(super) dead: DeadLetter,
    pub(super) backoff: Backoff,
    /// The journal's head, as the router appends.
    pub(super) head: watch::Receiver<i64>,
    pub(super) stop: watch::Receiver<bool>,
    /// With a PostgreSQL store, replicas take turns (`turn.rs`); `None`:
    /// this process is the only one.
    pub(super) turn: Option<Turn>,
}

/// A read journal entry: position, line, event (`None`: unreadable).
type Entry = (i64, String, Option<GridEvent>);

impl Worker {
    /// Runs until `stop` turns true.
    pub(super) async fn run(mut self) {
        self.work().await;
        if let Some(mut turn) = self.turn.take() {
            turn.give_up(&self.store, &self.stats).await;
        }
    }

    async fn work(&mut self) {
        let mut wait = self.backoff.min;
        let mut after_failure = false;
        loop {
            if let Some(turn) = &mut self.turn {
                if !turn.hold(&self.store, &self.stats).await {
                    if !self.pause(RENEW_EVERY).await {
                        return;
                    }
                    continue;
                }
            }
            let cursor = self.stats.cursor.load(Ordering::Acquire);
            let batching = self.sink.batching();
            let max = batching.max.max(1);
            // Other replicas append too (what this one has not heard yet),
            // and the lease wants renewing: look at the journal now and then.
            let limit = self.turn.as_ref().map(|_| RENEW_EVERY);
            if !self.wait_for(|head| head > cursor, limit).await {
                return;
            }
            if !batching.linger.is_zero() {
                let full = move |head: i64| head - cursor >= max as i64;
                if !self.wait_for(full, Some(batching.linger)).await {
                    return;
                }
            }
            let entries = match self.read(cursor, max).await {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(sink = %self.stats.name, error = %e, "sink journal");
                    if !self.pause(wait).await {
                        return;
                    }
                    continue;
                }
            };
            if entries.is_empty() {
                // Only when the router is gone (the head no longer moves).
                if !self.pause(wait).await {
                    return;
                }
                continue;
            }
            if after_failure {
                let n = entries.len() as u64;
                self.stats.retried.fetch_add(n, Ordering::Relaxed);
            }
            match self.attempt(&entries).await {
                Some(Ok(true)) => {
                    wait = self.backoff.min;
                    after_failure = false;
                    self.stats.set_working();
                }
                Some(Ok(false)) | Some(Err(())) => {
                    after_failure = true;
                    if !self.pause(wait).await {
                        return;
                    }
                    wait = (wait * 2).min(self.backoff.max);
                }
                None => return,
            }
        }
    }

    /// Reads up to `max` entries after `cursor` and turns them into events.
    async fn read(
        &mut self,
        cursor: i64,
        max: usize,
    ) -> Result<Vec<Entry>, crate::store::StoreError> {
        let rows = self.store.journal_read(cursor, max).await?;
        Ok(rows
            .into_iter()
            .map(|(seq, line)| {
                let ev = from_line(&line);
                (seq, line, ev)
            })
            .collect())
    }

    /// One attempt at a batch. `Some(Ok(true))`: all of it handled;
    /// `Some(Ok(false))`: a prefix handled, the rest to retry; `Some(Err)`:
    /// nothing handled; `None`: stopped.
    async fn attempt(&mut self, entries: &[Entry]) -> Option<Result<bool, ()>> {
        // An entry that does not read back as an event cannot be delivered
        // by any sink: dead-lettered at once, so it never blocks the rest.
        let readable = entries.iter().take_while(|e| e.2.is_some()).count();
        let events: Vec<GridEvent> = entries[..readable]
            .iter()
            .filter_map(|e| e.2.clone())
            .collect();
        let outcomes = if events.is_empty() {
            vec![Outcome::Refused("unreadable journal entry".into())]
        } else {
            let mut stop = self.stop.clone();
            let r = tokio::select! {
                r = self.sink.deliver_batch(&events) => r,
                _ = stop.wait_for(|s| *s) => return None,
            };
            match r {
                Ok(o) => o,
                Err(e) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(sink = %self.stats.name, error = %e, "delivery failed; retrying");
                    self.stats.set_failing(e.to_string());
                    return Some(Err(()));
                }
            }
        };
        let mut done = 0;
        let mut complete = true;
        for (entry, outcome) in entries.iter().zip(&outcomes) {
            match outcome {
                Outcome::Accepted => {
                    self.stats.sent.fetch_add(1, Ordering::Relaxed);
                }
                Outcome::Refused(reason) => {
                    if let Err(e) = self.dead.write(&self.stats.name, reason, &entry.1) {
                        tracing::error!(sink = %self.stats.name, file = %self.dead.path().display(), error = %e, "dead-letter file");
                        self.stats.set_failing(format!("dead-letter file: {e}"));
                        complete = false;
                        break;
                    }
                    tracing::warn!(sink = %self.stats.name, reason, file = %self.dead.path().display(), "event refused; dead-lettered");
                    self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                }
                Outcome::Retry(reason) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(sink = %self.stats.name, reason, "receiver deferred an event; retrying");
                    self.stats.set_failing(reason.clone());
                    complete = false;
                    break;
                }
            }
            done += 1;
        }
        let handled = if events.is_empty() { done.min(1) } else { done };
        if handled < entries.len() {
            complete = false;
        }
        if handled > 0 {
            let seq = entries[handled - 1].0;
            if let Err(e) = self.store.set_sink_cursor(&self.stats.name, seq).await {
                tracing::error!(sink = %self.stats.name, error = %e, "sink cursor");
                return Some(Err(()));
            }
            self.stats.cursor.store(seq, Ordering::Release);
        }
        Some(if handled == 0 { Err(()) } else { Ok(complete) })
    }

    /// Waits until the journal head satisfies `ready`, or `limit` passed;
    /// `false` once stopped.
    async fn wait_for(&mut self, ready: impl Fn(i64) -> bool, limit: Option<Duration>) -> bool {
        let mut head = self.head.clone();
        let mut stop = self.stop.clone();
        let until = async {
            // A closed channel (the router is gone) counts as ready: what
            // the journal holds is still delivered until stopped.
            let _ = head.wait_for(|h| ready(*h)).await;
        };
        let limited = async {
            match limit {
                Some(d) => {
                    let _ = tokio::time::timeout(d, until).await;
                }
                None => until.await,
            }
        };
        tokio::select! {
            _ = limited => !*self.stop.borrow(),
            _ = stop.wait_for(|s| *s) => false,
        }
    }

    /// Sleeps `d` unless stopped first; `false` once stopped.
    async fn pause(&mut self, d: Duration) -> bool {
        let mut stop = self.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = stop.wait_for(|s| *s) => false,
        }
    }
}
