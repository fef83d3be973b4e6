//! The server's own response counters (`/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

/// Responses of the server by status code.
#[derive(Debug)]
pub(crate) struct ResponseCounts {
    /// Responses by status code (index `status - 100`): atomics, because
    /// every request bumps one and a lock showed in the 304 path's profile.
    http: Box<[AtomicU64]>,
}

impl Default for ResponseCounts {
    fn default() -> Self {
        ResponseCounts {
            http: (100..600).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl ResponseCounts {
    /// Counts one response with `status`.
    pub(crate) fn count(&self, status: u16) {
        if let Some(c) = status
            .checked_sub(100)
            .and_then(|i| self.http.get(usize::from(i)))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (status, responses) for every status seen, in order.
    pub(crate) fn by_status(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        (100u16..)
            .zip(self.http.iter())
            .map(|(s, c)| (s, c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
    }
}
