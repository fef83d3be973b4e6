//! The [`Store`] handle: one SQLite connection shared by every clone, its
//! queries run on tokio's blocking pool, and what is kept in memory beside
//! it (per-topic counters, the last sequence number assigned). With
//! `postgres://…` the same handle holds a PostgreSQL pool instead
//! ([`Backend`]); every method picks its backend inside, so callers never
//! see which one they have.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::postgres::listen::Changes;
use super::postgres::{is_postgres_url, Pg, PgOptions};
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
    backend: Backend,
    counters: Mutex<BTreeMap<String, TopicCounters>>,
    /// See [`Store::last_seq`].
    last_seq: AtomicI64,
    /// Changes other replicas made, per topic, as their notifications
    /// said (PostgreSQL only; see [`Store::generation`]).
    remote: Mutex<BTreeMap<String, u64>>,
    /// Bumped whenever notifications may have been missed (the listening
    /// connection was lost): every topic's generation moves with it.
    epoch: std::sync::atomic::AtomicU64,
}

/// Where the data lives: the embedded SQLite file (the default), or a
/// PostgreSQL database shared by several bridge replicas.
pub(super) enum Backend {
    /// One connection, locked only inside blocking tasks.
    Sqlite(Mutex<Connection>),
    /// A small pool of connections and a listener (`store::postgres`).
    Postgres(Pg),
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

    /// Opens the store at `location`: a `postgres://` (or `postgresql://`)
    /// URL connects to PostgreSQL (see [`connect`](Self::connect)),
    /// anything else is a SQLite file path ([`open`](Self::open)).
    pub async fn open_location(location: &Path) -> Result<Store, StoreError> {
        match location.to_str().filter(|s| is_postgres_url(s)) {
            Some(url) => Store::connect(url).await,
            None => {
                let path = location.to_owned();
                tokio::task::spawn_blocking(move || Store::open(path))
                    .await
                    .map_err(|e| StoreError::Task(e.to_string()))?
            }
        }
    }

    /// Connects to the PostgreSQL database at `url` (a libpq-style
    /// `postgres://user:password@host:port/db?sslmode=require` URL or
    /// key=value string), migrates its schema and starts listening for the
    /// other replicas' changes.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, PgOptions::default()).await
    }

    /// [`connect`](Self::connect) with options other than the defaults.
    pub async fn connect_with(url: &str, opts: PgOptions) -> Result<Store, StoreError> {
        let pg = Pg::connect(url, opts).await?;
        pg.migrate().await?;
        let last_seq = AtomicI64::new(pg.assigned_seq().await?);
        let store = Store::with_backend(Backend::Postgres(pg), last_seq);
        if let Backend::Postgres(pg) = &store.shared.backend {
            pg.listen(std::sync::Arc::downgrade(&store.shared));
        }
        Ok(store)
    }

    fn with_backend(backend: Backend, last_seq: AtomicI64) -> Store {
        Store {
            shared: Arc::new(Shared {
                backend,
                counters: Mutex::new(BTreeMap::new()),
                last_seq,
                remote: Mutex::new(BTreeMap::new()),
                epoch: Default::default(),
            }),
        }
    }

    /// The PostgreSQL backend, if this store has one.
    pub(super) fn pg(&self) -> Option<&Pg> {
        match &self.shared.backend {
            Backend::Postgres(pg) => Some(pg),
            Backend::Sqlite(_) => None,
        }
    }

    /// Which backend this store uses: `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match &self.shared.backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
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
        Ok(Store::with_backend(
            Backend::Sqlite(Mutex::new(conn)),
            last_seq,
        ))
    }

    /// Runs `f` with the SQLite connection on the blocking pool (a
    /// PostgreSQL store answers [`StoreError::Unsupported`]: a method
    /// written only for SQLite fails clearly there).
    pub(super) async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        if self.pg().is_some() {
            return Err(StoreError::Unsupported("this store operation"));
        }
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let Backend::Sqlite(conn) = &shared.backend else {
                return Err(StoreError::Unsupported("this store operation"));
            };
            let mut conn = conn.lock().map_err(|_| StoreError::Poisoned)?;
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
        if let Some(pg) = self.pg() {
            return pg.check_writable().await;
        }
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
    /// needs no query. With SQLite only changes made through this process
    /// count; with PostgreSQL the other replicas' changes count too, as
    /// their notifications arrive (`LISTEN`/`NOTIFY`, sent at commit), and
    /// every generation moves when notifications may have been missed.
    pub fn generation(&self, topic: &str) -> u64 {
        let local = self
            .shared
            .counters
            .lock()
            .ok()
            .and_then(|c| c.get(topic).map(|t| t.inserted + t.replaced + t.retracted))
            .unwrap_or(0);
        let remote = self
            .shared
            .remote
            .lock()
            .ok()
            .and_then(|r| r.get(topic).copied())
            .unwrap_or(0);
        local + remote + self.shared.epoch.load(Ordering::Acquire)
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

impl Changes for Shared {
    /// The listener's side of [`Store::generation`].
    fn changed_elsewhere(&self, topic: &str, seq: i64) {
        if let Ok(mut remote) = self.remote.lock() {
            *remote.entry(topic.to_owned()).or_default() += 1;
        }
        self.last_seq.fetch_max(seq, Ordering::AcqRel);
    }

    /// Move every generation, and take the sequence as the database has it.
    fn resync(&self, seq: i64) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.last_seq.fetch_max(seq, Ordering::AcqRel);
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
