//! The [`Store`] handle: one SQLite connection shared by every clone, its
//! queries run on tokio's blocking pool, and what is kept in memory beside
//! it (per-topic counters, the last sequence number assigned).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::{files, schema, StoreError};

/// Counters of what [`Store::put`] and [`Store::retract`] did to one topic
/// since the process started (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopicCounters {
    /// New item ids stored.
    pub inserted: u64,
    /// Known item ids whose content was replaced.
    pub replaced: u64,
    /// Puts of content that was already stored.
    pub unchanged: u64,
    /// Items deleted by a retract.
    pub retracted: u64,
}

/// A handle to the item store.
///
/// Cloning is cheap: every clone shares one SQLite connection behind an
/// `Arc`. The connection sits behind a std `Mutex`, not a tokio one, because
/// it is only ever locked inside blocking tasks, never across an `.await`.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    conn: Mutex<Connection>,
    counters: Mutex<BTreeMap<String, TopicCounters>>,
    /// See [`Store::last_seq`].
    last_seq: AtomicI64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed, 0600) the store at `path` and migrates its schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        files::create_private_file(path.as_ref()).map_err(|e| StoreError::Create(e.to_string()))?;
        let conn = Connection::open(path.as_ref())?;
        // WAL lets readers proceed during a write; NORMAL sync is durable
        // against process crashes, which is what restart safety needs.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Store::from_connection(conn)
    }

    /// Opens a store that lives only in memory (tests, dry runs).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::from_connection(Connection::open_in_memory()?)
    }

    fn from_connection(mut conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn)?;
        let last_seq = AtomicI64::new(assigned_seq(&conn)?);
        Ok(Store {
            shared: Arc::new(Shared {
                conn: Mutex::new(conn),
                counters: Mutex::new(BTreeMap::new()),
                last_seq,
            }),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(super) async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = shared.conn.lock().map_err(|_| StoreError::Poisoned)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Counts one change of `topic`'s content (see [`generation`](Self::generation)).
    pub(super) fn count(&self, topic: &str, bump: impl FnOnce(&mut TopicCounters)) {
        if let Ok(mut counters) = self.shared.counters.lock() {
            bump(counters.entry(topic.to_owned()).or_default());
        }
    }

    /// Records that `seq` was assigned (after its insert committed).
    pub(super) fn assigned(&self, seq: i64) {
        self.shared.last_seq.fetch_max(seq, Ordering::AcqRel);
    }

    /// The highest `seq` this process has seen assigned (0 before any
    /// insert), without a query. It is updated after the insert commits,
    /// so it can lag the database, never lead it: callers use it to label
    /// cached documents, not to decide what a document holds.
    pub fn last_seq(&self) -> i64 {
        self.shared
            .last_seq
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Proves the store accepts writes: takes SQLite's write lock and rolls
    /// back. Fails on a read-only file, a full disk's locking errors, etc.
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch("CREATE TEMP TABLE IF NOT EXISTS gridlink_probe (x); DROP TABLE temp.gridlink_probe;")?;
            tx.rollback()?;
            Ok(())
        })
        .await
    }

    /// A number that changes whenever `topic`'s content changes through
    /// this store (insert, replace, retract), bumped after the change is
    /// committed: caches of rendered pages key on it, so that checking them
    /// needs no query. Only changes made through this process count.
    pub fn generation(&self, topic: &str) -> u64 {
        self.shared
            .counters
            .lock()
            .ok()
            .and_then(|c| c.get(topic).map(|t| t.inserted + t.replaced + t.retracted))
            .unwrap_or(0)
    }

    /// Per-topic counters of puts and retracts since this process started.
    pub fn counters(&self) -> BTreeMap<String, TopicCounters> {
        self.shared
            .counters
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }
}

/// The highest `seq` ever assigned in `conn` (0 if none).
pub(super) fn assigned_seq(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'items'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0))
}
