//! The store on PostgreSQL: the same tables and semantics as the SQLite
//! store, shared by several bridge replicas.
//!
//! What changes with several writers, and how each file handles it:
//! * `items.rs` — one row, `seq_counter`, hands out the sequence: a writer
//!   locks it for its whole transaction, so sequence numbers become
//!   visible in order (a reader that saw `seq` n has seen every n' < n),
//!   which is what paging cursors and closed archive blocks rely on, and
//!   two replicas storing the same content find each other's row
//!   (ingest stays idempotent). Each change ends with a `NOTIFY`.
//! * `listen.rs` — every replica `LISTEN`s, so its rendered-page caches
//!   see the other replicas' changes (`Store::generation`).
//! * `durable.rs` — outbox entries are claimed (`FOR UPDATE SKIP LOCKED`)
//!   by the replica that drains them; delivery cursors are plain shared
//!   rows; leases (one replica at a time polls a feed).
//! * `journal.rs` — the own-cursor sinks' journal: each grid change
//!   journaled once however many replicas hear it; shared cursors.
//! * `schema.rs` — versioned migrations under an advisory lock.
//! * `pool.rs` — the connections, TLS, and which errors are retried.

mod blocks;
mod durable;
mod items;
mod journal;
pub(crate) mod listen;
mod pool;
pub(crate) mod schema;

use std::time::{Duration, Instant};

/// How a PostgreSQL store behaves among its replicas.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// How long a claim on an outbox entry holds without renewal: a dead
    /// replica's entries are taken over by another after this. The drainer
    /// renews its claims every second while it runs.
    pub outbox_claim: Duration,
    /// Connections kept (besides the one that listens for changes).
    pub pool_size: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            outbox_claim: Duration::from_secs(15),
            pool_size: 6,
        }
    }
}

use super::StoreError;
pub(crate) use pool::describe;
use pool::Pool;

/// Runs `$body` (an expression using `$c: &mut Client`, evaluating to
/// `Result<T, tokio_postgres::Error>`) on a pooled connection, again on
/// transient failures (see [`pool::transient`]) for up to
/// [`pool::RETRY_FOR`]. A transaction retried as a whole is safe: either
/// it committed or nothing of it did (a commit whose answer was lost is
/// retried too, which every statement here takes as a repeat).
macro_rules! with_client {
    ($pg:expr, $c:ident => $body:expr) => {{
        let pg: &$crate::store::postgres::Pg = $pg;
        let started = std::time::Instant::now();
        let mut attempt: u32 = 0;
        loop {
            let result: Result<_, tokio_postgres::Error> = async {
                let mut guard = pg.pool.get().await?;
                #[allow(unused_mut)]
                let mut $c: &mut tokio_postgres::Client = &mut *guard;
                $body
            }
            .await;
            match result {
                Ok(v) => break Ok(v),
                Err(e) => {
                    if let Some(delay) = pg.retry_after(&e, started, &mut attempt) {
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    break Err($crate::store::StoreError::Postgres(
                        $crate::store::postgres::describe(&e),
                    ));
                }
            }
        }
    }};
}
pub(super) use with_client;

/// The PostgreSQL backend of a [`Store`](super::Store).
pub(crate) struct Pg {
    pool: std::sync::Arc<Pool>,
    /// Who this process is among the replicas (outbox claims, leases).
    replica: String,
    opts: PgOptions,
}

impl Pg {
    /// Prepares the pool (connections open on first use; then
    /// [`migrate`](Self::migrate)).
    pub(crate) async fn connect(url: &str, opts: PgOptions) -> Result<Pg, StoreError> {
        let pg = Pg {
            pool: std::sync::Arc::new(Pool::new(url, opts.pool_size)?),
            replica: replica_id(),
            opts,
        };
        tracing::info!(replica = %pg.replica, "postgresql store configured");
        Ok(pg)
    }

    /// This replica's name in claims and leases.
    pub(crate) fn replica(&self) -> &str {
        &self.replica
    }

    /// The pool, for the listener task.
    fn pool_handle(&self) -> std::sync::Arc<Pool> {
        self.pool.clone()
    }

    /// How long to wait before retrying after `e`, or `None` to give up.
    fn retry_after(
        &self,
        e: &tokio_postgres::Error,
        started: Instant,
        attempt: &mut u32,
    ) -> Option<Duration> {
        if !pool::transient(e) || started.elapsed() > pool::RETRY_FOR {
            return None;
        }
        *attempt += 1;
        let delay = Duration::from_millis(50 << (*attempt).min(5));
        tracing::warn!(error = %e, attempt = *attempt, retry_in = ?delay, "postgresql: retrying");
        Some(delay)
    }

    /// The sequence as committed (0 before any insert).
    pub(crate) async fn assigned_seq(&self) -> Result<i64, StoreError> {
        with_client!(self, c => {
            let row = c.query_one("SELECT value FROM seq_counter", &[]).await?;
            Ok(row.get::<_, i64>(0))
        })
    }

    /// Proves the database accepts writes from us (a read-only replica or
    /// a revoked grant fails).
    pub(crate) async fn check_writable(&self) -> Result<(), StoreError> {
        with_client!(self, c => {
            let tx = c.transaction().await?;
            tx.execute("SELECT value FROM seq_counter FOR UPDATE NOWAIT", &[])
                .await
                .or_else(|e| match e.code() {
                    // Another replica is writing right now: still writable.
                    Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => Ok(0),
                    _ => Err(e),
                })?;
            tx.rollback().await?;
            Ok(())
        })
    }
}

/// A name for this process among the replicas: host, pid and a random
/// part (a restarted replica is a new one; its old claims run out).
fn replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Whether `location` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// `location` fit for logs: a `postgres://` URL without its password.
pub fn redact_location(location: &str) -> String {
    if !is_postgres_url(location) {
        return location.to_owned();
    }
    let (scheme, rest) = location.split_once("://").unwrap_or(("postgres", location));
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let tail = redact_query_password(tail);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

/// `?password=…` in the query part, hidden too.
fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::redact_location;

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact_location("postgres://gl:s3cret@db:5432/grid?sslmode=require"),
            "postgres://gl:***@db:5432/grid?sslmode=require"
        );
        assert_eq!(
            redact_location("postgresql://gl@db/grid?password=s3cret&x=1"),
            "postgresql://gl@db/grid?password=***&x=1"
        );
        assert_eq!(
            redact_location("postgres://a:b@c:d@host"),
            "postgres://a:***@host"
        );
        assert_eq!(redact_location("/var/lib/b.sqlite"), "/var/lib/b.sqlite");
    }
}
