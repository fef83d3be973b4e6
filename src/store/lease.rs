//! Leases: a job that one replica at a time must do (polling one remote
//! feed), held by whoever took the lease last and taken over by another
//! replica once its holder stops renewing it (it died, or lost the
//! database). A SQLite store belongs to one process, which always holds
//! every lease.

use std::time::Duration;

use super::handle::Store;
use super::StoreError;

/// The usual lease term: renewed well before it runs out by a live holder,
/// taken over within it when the holder dies.
pub const LEASE_DEFAULT: Duration = Duration::from_secs(20);

impl Store {
    /// Takes or renews the lease `name` for `ttl`. `false` while another
    /// replica holds it (PostgreSQL); always `true` with SQLite.
    pub async fn lease(&self, name: &str, ttl: Duration) -> Result<bool, StoreError> {
        match self.pg() {
            Some(pg) => pg.lease(name, ttl).await,
            None => Ok(true),
        }
    }

    /// Gives the lease `name` up (on a clean stop), so another replica
    /// takes the job at once rather than when the term runs out.
    pub async fn release(&self, name: &str) -> Result<(), StoreError> {
        match self.pg() {
            Some(pg) => pg.release(name).await,
            None => Ok(()),
        }
    }

    /// This process's name among the replicas sharing a PostgreSQL store
    /// (`None` with SQLite).
    pub fn replica(&self) -> Option<&str> {
        self.pg().map(|pg| pg.replica())
    }
}
