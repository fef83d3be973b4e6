//! Handing events to several sinks, each at its own pace.
//!
//! In-line sinks (the store, JSON lines, files) are called in turn for every
//! event, as before. Sinks that keep their own cursor
//! ([`Sink::own_cursor`]: syslog, HTTP, any remote receiver) are not: the
//! event is appended to the sinks' journal in the store (its JSON line),
//! and each such sink runs in its own task (`worker.rs`) that reads the
//! journal after its own durable cursor, a batch at a time, and moves the
//! cursor only past what its receiver accepted. So:
//!
//! * a slow or unreachable receiver holds up neither the other sinks nor
//!   the XMPP session: its cursor falls behind and it catches up from the
//!   journal later (memory holds one batch; the disk holds the backlog);
//! * the grid's cursor is acknowledged once the in-line sinks answered and
//!   the event is in the journal, which survives a crash;
//! * the journal is pruned up to the slowest own-cursor sink.
//!
//! Bridge replicas sharing a PostgreSQL store share the journal and the
//! cursors: each grid change is journaled once ([`journal_key`]), and one
//! replica at a time delivers to each sink (`turn.rs`), from the shared
//! cursor, so a surviving replica continues where a dead one stopped.

mod dead_letter;
mod line;
mod monitor;
mod turn;
mod worker;

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use dead_letter::DeadLetter;
pub use line::{from_line, journal_key, to_line};
pub use monitor::{SinkMonitor, SinkStats};
pub use worker::Backoff;

use super::deliver::{Sink, SinkError};
use crate::grid::GridEvent;
use crate::store::Store;
use worker::Worker;

/// How often (in appended events) the journal is pruned.
const PRUNE_EVERY: u64 = 256;

/// Settings of the own-cursor sinks.
#[derive(Debug, Clone)]
pub struct FanoutOptions {
    /// Where the dead-letter files go (`dead-letter-SINK.jsonl`).
    pub dead_letter_dir: PathBuf,
    /// Waits between failed attempts.
    pub backoff: Backoff,
}

/// Every sink of one router.
pub struct Fanout {
    inline: Vec<Box<dyn Sink>>,
    store: Store,
    head: watch::Sender<i64>,
    stop: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    monitor: SinkMonitor,
    appended: u64,
}

impl Fanout {
    /// Starts a task for each own-cursor sink (its cursor, kept in `store`
    /// under the sink's name, starts at the journal's head the first time).
    pub async fn start(
        sinks: Vec<Box<dyn Sink>>,
        store: &Store,
        opts: FanoutOptions,
    ) -> Result<Fanout, SinkError> {
        let (inline, cursored): (Vec<_>, Vec<_>) = sinks.into_iter().partition(|s| !s.own_cursor());
        let mut head_now = 0;
        if !cursored.is_empty() {
            store.journal_init().await?;
            head_now = store.journal_head().await?;
        }
        let (head, head_rx) = watch::channel(head_now);
        let (stop, stop_rx) = watch::channel(false);
        let mut stats = Vec::new();
        let mut workers = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for sink in cursored {
            // Two sinks of one name (the same URL twice) get two cursors.
            let mut name = sink.name().to_string();
            let mut n = 1;
            while !names.insert(name.clone()) {
                n += 1;
                name = format!("{}#{n}", sink.name());
            }
            let cursor = match store.sink_cursor(&name).await? {
                Some(c) => c,
                None => {
                    store.set_sink_cursor(&name, head_now).await?;
                    head_now
                }
            };
            let st = Arc::new(SinkStats::new(name.clone(), cursor, sink.failing_after()));
            stats.push(st.clone());
            let w = Worker {
                sink,
                store: store.clone(),
                stats: st,
                dead: DeadLetter::in_dir(&opts.dead_letter_dir, &name),
                backoff: opts.backoff,
                head: head_rx.clone(),
                stop: stop_rx.clone(),
                turn: store.replica().map(|_| turn::Turn::default()),
            };
            workers.push(tokio::spawn(w.run()));
        }
        Ok(Fanout {
            inline,
            store: store.clone(),
            head,
            stop,
            workers,
            monitor: SinkMonitor {
                head: Arc::new(AtomicI64::new(head_now)),
                sinks: Arc::new(stats),
            },
            appended: 0,
        })
    }

    /// The own-cursor sinks' counters, for `/metrics` and `/healthz`.
    pub fn monitor(&self) -> SinkMonitor {
        self.monitor.clone()
    }

    /// Hands `ev` to every in-line sink, then (when there are own-cursor
    /// sinks) appends it to the journal. `Ok` means every in-line sink
    /// handled it and the others will: the grid's cursor may record it.
    pub async fn deliver(&mut self, ev: &GridEvent) -> Result<(), SinkError> {
        for sink in self.inline.iter_mut() {
            sink.deliver(ev).await?;
        }
        if self.workers.is_empty() {
            return Ok(());
        }
        let head = self
            .store
            .journal_append_keyed(journal_key(ev), to_line(ev))
            .await?;
        self.monitor.head.store(head, Ordering::Release);
        self.head.send_replace(head);
        self.appended += 1;
        if self.appended.is_multiple_of(PRUNE_EVERY) {
            prune(&self.store, &self.monitor).await?;
        }
        Ok(())
    }

    /// Waits until every own-cursor sink has delivered everything appended
    /// so far, or `limit` passed; `true` when they have.
    pub async fn flush(&mut self, limit: Duration) -> bool {
        let head = *self.head.borrow();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let behind = self
                .monitor
                .sinks
                .iter()
                .any(|s| s.cursor.load(Ordering::Acquire) < head);
            if !behind {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the own-cursor sinks' tasks (what they have not delivered
    /// stays in the journal for the next start).
    pub async fn close(self) {
        let _ = prune(&self.store, &self.monitor).await;
        let _ = self.stop.send(true);
        for w in self.workers {
            let _ = w.await;
        }
    }
}

/// Drops the journal entries every own-cursor sink has delivered. (A free
/// function: the router's future must stay `Send`, and sinks need not be
/// `Sync`, so no `&Fanout` is held across an await.)
async fn prune(store: &Store, monitor: &SinkMonitor) -> Result<(), SinkError> {
    let min = monitor
        .sinks
        .iter()
        .map(|s| s.cursor.load(Ordering::Acquire))
        .min();
    if let Some(min) = min {
        store.journal_prune(min).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
