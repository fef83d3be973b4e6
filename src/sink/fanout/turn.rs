//! Whose turn it is to deliver to a sink when bridge replicas share a
//! PostgreSQL store: the replica holding the sink's lease
//! ([`Store::sink_lease`]). The holder renews it while it works; the
//! others try for it now and then and, meanwhile, follow the shared cursor
//! (so their `/metrics` show the sink's real lag). A replica that takes the
//! lease starts from the shared cursor, where the last holder stopped: its
//! predecessor died, or gave the lease up on a clean stop.
//!
//! Each journal entry is delivered by one replica: only the holder reads
//! and delivers, and it records its cursor after each batch. A holder that
//! dies between a delivery and recording it leaves that batch to be sent
//! again by its successor (the same at-least-once window as one process
//! killed at that moment).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::monitor::SinkStats;
use crate::store::{Store, LEASE_DEFAULT};

/// How long a lease holds without renewal: another replica takes the sink
/// over within this after its holder dies.
pub(super) const TERM: Duration = LEASE_DEFAULT;

/// How often the holder renews, and how long the others wait between
/// tries (and the longest a holder waits for new entries before looking
/// at the journal itself: other replicas may have appended them).
pub(super) const RENEW_EVERY: Duration = Duration::from_secs(2);

/// One sink's turn, on one replica.
#[derive(Debug, Default)]
pub(super) struct Turn {
    /// When this replica last took or renewed the lease (`None`: it does
    /// not hold it).
    renewed: Option<Instant>,
}

impl Turn {
    /// Whether this replica delivers to the sink now: renews or takes the
    /// lease when due. On taking it, the cursor is read from the store.
    pub(super) async fn hold(&mut self, store: &Store, stats: &SinkStats) -> bool {
        if self.renewed.is_some_and(|t| t.elapsed() < RENEW_EVERY) {
            return true;
        }
        let held = self.renewed.is_some();
        let holds = match store.sink_lease(&stats.name, TERM).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(sink = %stats.name, error = %e, "sink lease: store failed");
                false
            }
        };
        // Where the sink stands, as the holder (maybe another replica) has it.
        if holds != held || !holds {
            match store.sink_cursor(&stats.name).await {
                Ok(Some(c)) => stats.cursor.store(c, Ordering::Release),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(sink = %stats.name, error = %e, "sink cursor");
                    self.renewed = None;
                    return false;
                }
            }
        }
        if holds != held {
            tracing::info!(sink = %stats.name, holds, cursor = stats.cursor.load(Ordering::Acquire), "sink lease changed hands");
        }
        self.renewed = holds.then(Instant::now);
        holds
    }

    /// Gives the lease up on a clean stop: it runs out at once, so another
    /// replica takes over without waiting for the term (the row stays, so
    /// the sink's cursor keeps holding the journal back).
    pub(super) async fn give_up(&mut self, store: &Store, stats: &SinkStats) {
        if self.renewed.take().is_some() {
            if let Err(e) = store.sink_lease(&stats.name, Duration::ZERO).await {
                tracing::warn!(sink = %stats.name, error = %e, "sink lease: not given up");
            }
        }
    }
}
