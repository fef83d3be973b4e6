//! A feed poller that only one bridge replica runs at a time: replicas
//! sharing a PostgreSQL store would otherwise all fetch the same feed and
//! publish its entries once each (harmless, as item ids are stable, but
//! wasteful and noisy). Each replica's `LeasedPoller` tries to take the
//! source's lease every few seconds; the holder polls and renews it, and
//! when the holder dies another replica takes the lease within its term and
//! polls from then on.

use std::time::{Duration, Instant};

use super::{Shutdown, Source};
use crate::rolie::poll::Poller;
use crate::sink::BoxFuture;
use crate::store::{Store, LEASE_DEFAULT};

/// How often the lease is renewed (or tried for): well inside its term.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// A [`Poller`] run under a lease in the store.
pub struct LeasedPoller {
    poller: Poller,
    store: Store,
    interval: Duration,
    lease: String,
}

impl LeasedPoller {
    /// `poller` (polling every `interval`), run only while this replica
    /// holds the lease named after its source in `store`.
    pub fn new(poller: Poller, store: Store, interval: Duration) -> LeasedPoller {
        let s = poller.source();
        let lease = format!("poll {} {}", s.url, s.topic);
        LeasedPoller {
            poller,
            store,
            interval,
            lease,
        }
    }

    async fn run(self, mut shutdown: Shutdown) {
        let mut due = Instant::now();
        let mut backoff = self.interval;
        let mut held = false;
        loop {
            let holds = match self.store.lease(&self.lease, LEASE_DEFAULT).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(lease = %self.lease, error = %e, "poll lease: store failed");
                    false
                }
            };
            if holds != held {
                tracing::info!(lease = %self.lease, holds, "poll lease changed hands");
                held = holds;
            }
            if holds && Instant::now() >= due {
                let wait = match self.poller.poll_once().await {
                    Ok(n) => {
                        if n > 0 {
                            tracing::info!(lease = %self.lease, published = n, "poll round");
                        }
                        backoff = self.interval;
                        self.interval
                    }
                    Err(e) => {
                        backoff = (backoff * 2).min(Duration::from_secs(300));
                        let wait = e.retry_after().map_or(backoff, |d| backoff.max(d));
                        tracing::warn!(lease = %self.lease, error = %e, retry_in = ?wait, "poll failed");
                        wait
                    }
                };
                due = Instant::now() + wait;
            }
            let nap = RENEW_EVERY.min(due.saturating_duration_since(Instant::now()));
            tokio::select! {
                _ = tokio::time::sleep(nap.max(Duration::from_millis(100))) => {}
                _ = shutdown.wait_for(|s| *s) => break,
            }
        }
        if held {
            // Another replica takes over at once rather than after the term.
            let _ = self.store.release(&self.lease).await;
        }
    }
}

impl Source for LeasedPoller {
    fn name(&self) -> String {
        format!("poll {} (leased)", self.poller.source().display_url())
    }

    fn run(self: Box<Self>, shutdown: Shutdown) -> BoxFuture<'static, ()> {
        Box::pin(LeasedPoller::run(*self, shutdown))
    }
}
