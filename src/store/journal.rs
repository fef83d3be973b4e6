//! The sinks' journal: every event handed to sinks that keep their own
//! cursor, in order, and each such sink's position in it. Plain persistence;
//! the policy (who reads when, retries, pruning) is `crate::sink::fanout`.
//!
//! On SQLite the tables are created on first use (`IF NOT EXISTS`) rather
//! than by a schema migration: a store that never had a cursored sink stays
//! as it was, and an older gridlink opening the file ignores them. On
//! PostgreSQL (`postgres/journal.rs`, migration 7) the journal and the
//! cursors are shared by the replicas: each grid change is journaled once
//! (see [`JournalKey`]), and each sink is delivered to by the replica that
//! holds its lease ([`Store::sink_lease`]).

use std::time::Duration;

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::handle::Store;
use super::types::SINK_LEASE_PREFIX;
use super::{JournalKey, StoreError};

impl Store {
    /// Creates the journal tables if they are missing (PostgreSQL: made
    /// by its migrations).
    pub async fn journal_init(&self) -> Result<(), StoreError> {
        if self.pg().is_some() {
            return Ok(());
        }
        self.with_conn(|conn| {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS sink_journal (
                     seq   INTEGER PRIMARY KEY AUTOINCREMENT,
                     line  TEXT    NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS sink_cursor (
                     sink  TEXT    PRIMARY KEY,
                     seq   INTEGER NOT NULL
                 );",
            )?;
            Ok(())
        })
        .await
    }

    /// Appends events (their JSON lines) in one transaction; returns the
    /// last position assigned (the head).
    pub async fn journal_append(&self, lines: Vec<String>) -> Result<i64, StoreError> {
        if let Some(pg) = self.pg() {
            let mut head = 0;
            for l in &lines {
                head = pg.journal_append(None, l).await?;
            }
            return match head {
                0 => pg.journal_head().await,
                h => Ok(h),
            };
        }
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached("INSERT INTO sink_journal (line) VALUES (?1)")?;
                for l in &lines {
                    stmt.execute(params![l])?;
                }
            }
            let seq = tx.last_insert_rowid();
            tx.commit()?;
            Ok(seq)
        })
        .await
    }

    /// Appends one event's line, unless `key` says another replica
    /// sharing this PostgreSQL store journaled the same change already
    /// (SQLite: always appended). Returns the journal's head.
    pub async fn journal_append_keyed(
        &self,
        key: Option<JournalKey>,
        line: String,
    ) -> Result<i64, StoreError> {
        match self.pg() {
            Some(pg) => pg.journal_append(key.as_ref(), &line).await,
            None => self.journal_append(vec![line]).await,
        }
    }

    /// Takes or renews the lease on delivering to `sink` for `ttl`: with
    /// PostgreSQL one replica at a time delivers to a sink; with SQLite
    /// the one process always does.
    pub async fn sink_lease(&self, sink: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.lease(&format!("{SINK_LEASE_PREFIX}{sink}"), ttl).await
    }

    /// Up to `limit` entries after position `after`, in order.
    pub async fn journal_read(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.journal_read(after, limit).await;
        }
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, line FROM sink_journal WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows =
                stmt.query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The last position ever assigned (0 for an empty journal). Survives
    /// pruning: SQLite's AUTOINCREMENT never reuses a number.
    pub async fn journal_head(&self) -> Result<i64, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.journal_head().await;
        }
        self.with_conn(|conn| {
            let seq: Option<i64> = conn
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'sink_journal'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(seq.unwrap_or(0))
        })
        .await
    }

    /// Where `sink` stands: the last position it delivered, or `None` for
    /// a sink this store has not seen.
    pub async fn sink_cursor(&self, sink: &str) -> Result<Option<i64>, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.sink_cursor(sink).await;
        }
        let s = sink.to_owned();
        self.with_conn(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT seq FROM sink_cursor WHERE sink = ?1",
                    params![s],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    /// Records that `sink` delivered everything up to `seq` (PostgreSQL:
    /// a cursor never moves back).
    pub async fn set_sink_cursor(&self, sink: &str, seq: i64) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.set_sink_cursor(sink, seq).await;
        }
        let s = sink.to_owned();
        self.with_conn(move |conn| {
            conn.prepare_cached(
                "INSERT INTO sink_cursor (sink, seq) VALUES (?1, ?2) \
                 ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq",
            )?
            .execute(params![s, seq])?;
            Ok(())
        })
        .await
    }

    /// Drops the entries up to `seq` (every sink has delivered them;
    /// PostgreSQL: never past another replica's sinks' cursors).
    pub async fn journal_prune(&self, seq: i64) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.journal_prune(seq).await;
        }
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM sink_journal WHERE seq <= ?1", params![seq])?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Append, read after a position, cursors, pruning keeps the numbering.
    #[tokio::test]
    async fn journal_round_trip() {
        let s = Store::open_in_memory().unwrap();
        s.journal_init().await.unwrap();
        s.journal_init().await.unwrap();
        assert_eq!(s.journal_head().await.unwrap(), 0);
        let head = s
            .journal_append(vec!["a".into(), "b".into(), "c".into()])
            .await
            .unwrap();
        assert_eq!(head, 3);
        let got = s.journal_read(1, 10).await.unwrap();
        assert_eq!(got, vec![(2, "b".to_string()), (3, "c".to_string())]);
        assert_eq!(s.sink_cursor("x").await.unwrap(), None);
        s.set_sink_cursor("x", 2).await.unwrap();
        s.set_sink_cursor("x", 3).await.unwrap();
        assert_eq!(s.sink_cursor("x").await.unwrap(), Some(3));
        s.journal_prune(3).await.unwrap();
        assert!(s.journal_read(0, 10).await.unwrap().is_empty());
        assert_eq!(s.journal_head().await.unwrap(), 3);
        assert_eq!(s.journal_append(vec!["d".into()]).await.unwrap(), 4);
    }
}
