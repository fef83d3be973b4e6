//! The persistent item store: every envelope the bridge serves, in SQLite.
//!
//! Items are keyed by (topic, item id) and deduplicated by content: storing
//! the same document again is a no-op, new content for a known id replaces
//! the old one (an updated incident) and moves it to the top of the feed, and
//! a retract deletes it. Each insert takes a fresh, never reused sequence
//! number, which the ROLIE feeds use as paging cursors.
//!
//! SQLite calls block, so every async method runs its query on tokio's
//! blocking pool (`spawn_blocking`); the async runtime never waits on disk.

mod blocks;
mod durable;
pub mod files;
mod schema;
mod types;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use sha2::{Digest, Sha256};

use crate::envelope::Envelope;

pub use blocks::{block_of, bounds as block_bounds, Block};
pub use durable::{OutboxEntry, DELIVERED_KEPT};
pub use schema::{SCHEMA_VERSION, TOMBSTONES_KEPT};
pub use types::{Cursor, Page, PutOutcome, StoreError, StoredItem, Tombstone, TopicInfo};

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
        let last_seq = AtomicI64::new(blocks::assigned_seq(&conn)?);
        Ok(Store {
            shared: Arc::new(Shared {
                conn: Mutex::new(conn),
                counters: Mutex::new(BTreeMap::new()),
                last_seq,
            }),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
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

    fn count(&self, topic: &str, bump: impl FnOnce(&mut TopicCounters)) {
        if let Ok(mut counters) = self.shared.counters.lock() {
            bump(counters.entry(topic.to_owned()).or_default());
        }
    }

    /// Stores `envelope`: inserts a new item, replaces changed content, or
    /// does nothing when the same content is already stored.
    pub async fn put(&self, envelope: Envelope) -> Result<PutOutcome, StoreError> {
        let topic = envelope.topic.clone();
        let outcome = self
            .with_conn(move |conn| put_blocking(conn, &envelope))
            .await?;
        // After the commit, like the generation below (see `last_seq`).
        self.shared
            .last_seq
            .fetch_max(outcome.seq(), Ordering::AcqRel);
        self.count(&topic, |c| match outcome {
            PutOutcome::Inserted { .. } => c.inserted += 1,
            PutOutcome::Replaced { .. } => c.replaced += 1,
            PutOutcome::Unchanged { .. } => c.unchanged += 1,
        });
        match outcome {
            PutOutcome::Unchanged { .. } => tracing::debug!(%topic, ?outcome, "store put"),
            _ => tracing::info!(%topic, ?outcome, "store put"),
        }
        Ok(outcome)
    }

    /// Deletes an item (a pubsub retract). Returns whether it existed.
    pub async fn retract(&self, topic: &str, item_id: &str) -> Result<bool, StoreError> {
        let (t, i) = (topic.to_owned(), item_id.to_owned());
        let existed = self
            .with_conn(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let n = tx.execute(
                    "DELETE FROM items WHERE topic = ?1 AND item_id = ?2",
                    params![t, i],
                )?;
                if n > 0 {
                    let now = now_ns()?;
                    touch_topic(&tx, &t, now)?;
                    tx.execute(
                        "INSERT OR REPLACE INTO tombstones (topic, item_id, deleted_ns) \
                         VALUES (?1, ?2, ?3)",
                        params![t, i, now],
                    )?;
                    trim_tombstones(&tx, &t)?;
                }
                tx.commit()?;
                Ok(n > 0)
            })
            .await?;
        if existed {
            self.count(topic, |c| c.retracted += 1);
            tracing::info!(%topic, %item_id, "store retract");
        }
        Ok(existed)
    }

    /// Deletes every item of `topic` (a pubsub purge, or the topic's
    /// deletion), each leaving a tombstone like a retraction so that feed
    /// readers learn what went. Returns how many items there were.
    pub async fn purge(&self, topic: &str) -> Result<usize, StoreError> {
        let t = topic.to_owned();
        let gone = self
            .with_conn(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = now_ns()?;
                let n = tx.execute(
                    "INSERT OR REPLACE INTO tombstones (topic, item_id, deleted_ns) \
                     SELECT topic, item_id, ?2 FROM items WHERE topic = ?1",
                    params![t, now],
                )?;
                if n > 0 {
                    tx.execute("DELETE FROM items WHERE topic = ?1", params![t])?;
                    touch_topic(&tx, &t, now)?;
                    trim_tombstones(&tx, &t)?;
                }
                tx.commit()?;
                Ok(n)
            })
            .await?;
        if gone > 0 {
            self.count(topic, |c| c.retracted += gone as u64);
            tracing::info!(%topic, items = gone, "store purge");
        }
        Ok(gone)
    }

    /// The topic's remembered retractions, newest first (at most
    /// [`TOMBSTONES_KEPT`]). An item stored again loses its tombstone.
    pub async fn tombstones(&self, topic: &str) -> Result<Vec<Tombstone>, StoreError> {
        let t = topic.to_owned();
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT item_id, deleted_ns FROM tombstones WHERE topic = ?1 \
                 ORDER BY deleted_ns DESC, item_id",
            )?;
            let rows = stmt.query_map(params![t], |r| {
                Ok(Tombstone {
                    topic: t.clone(),
                    item_id: r.get(0)?,
                    deleted: from_ns(r.get(1)?),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Every (item id, content hash) of `topic`, by item id: what a catch-up
    /// compares with the broker's item list (items the broker no longer has
    /// were retracted while the bridge was away).
    pub async fn item_keys(&self, topic: &str) -> Result<Vec<(String, String)>, StoreError> {
        let t = topic.to_owned();
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT item_id, content_hash FROM items WHERE topic = ?1 ORDER BY item_id",
            )?;
            let rows = stmt.query_map(params![t], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The current content of one item.
    pub async fn get(&self, topic: &str, item_id: &str) -> Result<Option<StoredItem>, StoreError> {
        let (t, i) = (topic.to_owned(), item_id.to_owned());
        self.with_conn(move |conn| {
            let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE topic = ?1 AND item_id = ?2");
            conn.query_row(&sql, params![t, i], item_from_row)
                .optional()?
                .transpose()
        })
        .await
    }

    /// One page of at most `limit` items of `topic`, newest first.
    pub async fn page(
        &self,
        topic: &str,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let t = topic.to_owned();
        let limit = limit.max(1);
        self.with_conn(move |conn| page_blocking(conn, &t, cursor, limit))
            .await
    }

    /// Registers a topic (so its empty feed exists) and returns its metadata.
    pub async fn ensure_topic(&self, topic: &str) -> Result<TopicInfo, StoreError> {
        let t = topic.to_owned();
        self.with_conn(move |conn| {
            let now = now_ns()?;
            conn.execute(
                "INSERT OR IGNORE INTO topics (topic, created_ns, updated_ns) VALUES (?1, ?2, ?2)",
                params![t, now],
            )?;
            topic_blocking(conn, &t)?.ok_or(StoreError::Task("topic vanished".into()))
        })
        .await
    }

    /// Metadata of one topic, if the store knows it.
    pub async fn topic(&self, topic: &str) -> Result<Option<TopicInfo>, StoreError> {
        let t = topic.to_owned();
        self.with_conn(move |conn| topic_blocking(conn, &t)).await
    }

    /// Every topic the store knows, by name.
    pub async fn topics(&self) -> Result<Vec<TopicInfo>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(&format!("{TOPIC_SELECT} ORDER BY t.topic"))?;
            let rows = stmt.query_map([], topic_from_row)?;
            rows.map(|r| r?).collect()
        })
        .await
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

/// Lower-case hex SHA-256 of a document: the content part of an item's key.
pub fn content_hash(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const ITEM_COLUMNS: &str = "seq, topic, item_id, content_hash, publisher, received_ns, \
     delayed_ns, payload_ns, document, published_ns, stored_ns";

const TOPIC_SELECT: &str = "SELECT t.topic, t.created_ns, t.updated_ns, \
     (SELECT COUNT(*) FROM items i WHERE i.topic = t.topic) FROM topics t";

fn put_blocking(conn: &mut Connection, env: &Envelope) -> Result<PutOutcome, StoreError> {
    let hash = content_hash(&env.document);
    let received = to_ns(env.received_at)?;
    let delayed = env.delayed_at.map(to_ns).transpose()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing: Option<(i64, String, i64)> = tx
        .query_row(
            "SELECT seq, content_hash, published_ns FROM items WHERE topic = ?1 AND item_id = ?2",
            params![env.topic, env.item_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let now = now_ns()?;
    let published = match &existing {
        Some((seq, old_hash, _)) if *old_hash == hash => {
            return Ok(PutOutcome::Unchanged { seq: *seq });
        }
        Some((seq, _, published)) => {
            // Delete and re-insert rather than update: the new row takes a
            // fresh sequence number, so the updated incident heads the feed.
            tx.execute("DELETE FROM items WHERE seq = ?1", params![seq])?;
            *published
        }
        None => now,
    };
    tx.execute(
        "INSERT INTO items (topic, item_id, content_hash, publisher, received_ns, delayed_ns, \
         payload_ns, document, published_ns, stored_ns) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            env.topic,
            env.item_id,
            hash,
            env.publisher,
            received,
            delayed,
            env.payload_ns,
            env.document,
            published,
            now
        ],
    )?;
    let seq = tx.last_insert_rowid();
    tx.execute(
        "DELETE FROM tombstones WHERE topic = ?1 AND item_id = ?2",
        params![env.topic, env.item_id],
    )?;
    touch_topic(&tx, &env.topic, now)?;
    tx.commit()?;
    Ok(match existing {
        Some((previous, _, _)) => PutOutcome::Replaced { seq, previous },
        None => PutOutcome::Inserted { seq },
    })
}

fn page_blocking(
    conn: &Connection,
    topic: &str,
    cursor: Cursor,
    limit: usize,
) -> Result<Page, StoreError> {
    let fetch = (limit + 1) as i64;
    let (sql, bound, ascending) = match cursor {
        Cursor::Newest => ("topic = ?1 AND seq < ?2 ORDER BY seq DESC", i64::MAX, false),
        Cursor::Before(s) => ("topic = ?1 AND seq < ?2 ORDER BY seq DESC", s, false),
        Cursor::After(s) => ("topic = ?1 AND seq > ?2 ORDER BY seq ASC", s, true),
    };
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE {sql} LIMIT ?3");
    let mut stmt = conn.prepare(&sql)?;
    let mut items = stmt
        .query_map(params![topic, bound, fetch], item_from_row)?
        .map(|r| r?)
        .collect::<Result<Vec<_>, _>>()?;
    let more = items.len() > limit;
    items.truncate(limit);
    let exists = |cond: &str, seq: i64| -> Result<bool, StoreError> {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM items WHERE topic = ?1 AND seq {cond} ?2)");
        Ok(conn.query_row(&sql, params![topic, seq], |r| r.get(0))?)
    };
    let (has_newer, has_older) = if ascending {
        items.reverse();
        let older = match items.last() {
            Some(last) => exists("<", last.seq)?,
            None => exists("<=", bound)?,
        };
        (more, older)
    } else {
        let newer = match (cursor, items.first()) {
            (Cursor::Newest, _) => false,
            (_, Some(first)) => exists(">", first.seq)?,
            (_, None) => exists(">=", bound)?,
        };
        (newer, more)
    };
    Ok(Page {
        items,
        has_newer,
        has_older,
    })
}

/// Keeps only the newest [`TOMBSTONES_KEPT`] tombstones of `topic`.
fn trim_tombstones(conn: &Connection, topic: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM tombstones WHERE topic = ?1 AND rowid NOT IN \
         (SELECT rowid FROM tombstones WHERE topic = ?1 \
          ORDER BY deleted_ns DESC LIMIT ?2)",
        params![topic, TOMBSTONES_KEPT],
    )?;
    Ok(())
}

fn touch_topic(conn: &Connection, topic: &str, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO topics (topic, created_ns, updated_ns) VALUES (?1, ?2, ?2) \
         ON CONFLICT (topic) DO UPDATE SET updated_ns = max(updated_ns, excluded.updated_ns)",
        params![topic, now],
    )?;
    Ok(())
}

fn topic_blocking(conn: &Connection, topic: &str) -> Result<Option<TopicInfo>, StoreError> {
    let sql = format!("{TOPIC_SELECT} WHERE t.topic = ?1");
    conn.query_row(&sql, params![topic], topic_from_row)
        .optional()?
        .transpose()
}

fn topic_from_row(row: &Row<'_>) -> rusqlite::Result<Result<TopicInfo, StoreError>> {
    let count: i64 = row.get(3)?;
    let (created, updated): (i64, i64) = (row.get(1)?, row.get(2)?);
    let topic: String = row.get(0)?;
    Ok(Ok(TopicInfo {
        topic,
        created: from_ns(created),
        updated: from_ns(updated),
        items: count.max(0) as u64,
    }))
}

fn item_from_row(row: &Row<'_>) -> rusqlite::Result<Result<StoredItem, StoreError>> {
    let delayed: Option<i64> = row.get(6)?;
    Ok(Ok(StoredItem {
        seq: row.get(0)?,
        envelope: Envelope {
            topic: row.get(1)?,
            item_id: row.get(2)?,
            publisher: row.get(4)?,
            received_at: from_ns(row.get(5)?),
            delayed_at: delayed.map(from_ns),
            payload_ns: row.get(7)?,
            document: row.get(8)?,
        },
        content_hash: row.get(3)?,
        published: from_ns(row.get(9)?),
        updated: from_ns(row.get(10)?),
    }))
}

fn to_ns(t: DateTime<Utc>) -> Result<i64, StoreError> {
    t.timestamp_nanos_opt()
        .ok_or_else(|| StoreError::Time(t.to_rfc3339()))
}

fn from_ns(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

fn now_ns() -> Result<i64, StoreError> {
    to_ns(Utc::now())
}
