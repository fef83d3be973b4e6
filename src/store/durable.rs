//! The store's side of the loss-free layer (`crate::durable`): the publish
//! outbox and the subscribers' delivery cursors. Plain persistence only; the
//! policy (ordering, retries, catch-up, gaps) lives in `crate::durable`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, TransactionBehavior};

use super::handle::Store;
use super::rows::{from_ns, now_ns};
use super::StoreError;

/// A document waiting in the outbox for the broker's confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Queue position: entries are sent in increasing `seq`.
    pub seq: i64,
    /// The topic to publish to.
    pub topic: String,
    /// The item id it will be published under (stable across retries, so a
    /// re-send after a crash replaces rather than duplicates).
    pub item_id: String,
    /// The IODEF XML as it goes on the wire.
    pub document: String,
    /// When it was accepted.
    pub queued: DateTime<Utc>,
    /// Sending attempts that failed so far.
    pub attempts: u32,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// How many delivery records a topic keeps (the oldest are pruned). Far
/// more than a broker keeps per node, so catch-up always finds its place.
pub const DELIVERED_KEPT: i64 = 200_000;

impl Store {
    /// Appends a document to the outbox unless it already holds `max`
    /// entries. Returns the entry's queue position.
    pub async fn outbox_push(
        &self,
        topic: &str,
        item_id: &str,
        document: &str,
        max: usize,
    ) -> Result<i64, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.outbox_push(topic, item_id, document, max).await;
        }
        let (t, i, d) = (topic.to_owned(), item_id.to_owned(), document.to_owned());
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let len: i64 = tx.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
            if len as usize >= max {
                return Err(StoreError::OutboxFull { max });
            }
            tx.execute(
                "INSERT INTO outbox (topic, item_id, document, queued_ns) VALUES (?1, ?2, ?3, ?4)",
                params![t, i, d, now_ns()?],
            )?;
            let seq = tx.last_insert_rowid();
            tx.commit()?;
            Ok(seq)
        })
        .await
    }

    /// The oldest `limit` outbox entries, in sending order.
    /// With PostgreSQL: this replica's entries and those whose claim ran
    /// out, claimed for this replica (see `store::postgres`).
    pub async fn outbox_head(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        if let Some(pg) = self.pg() {
            let rows = pg.outbox_head(limit).await?;
            return Ok(rows
                .into_iter()
                .map(
                    |(seq, topic, item_id, document, queued, attempts, last_error)| OutboxEntry {
                        seq,
                        topic,
                        item_id,
                        document,
                        queued: from_ns(queued),
                        attempts,
                        last_error,
                    },
                )
                .collect());
        }
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT seq, topic, item_id, document, queued_ns, attempts, last_error \
                 FROM outbox ORDER BY seq LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![limit as i64], |r| {
                Ok(OutboxEntry {
                    seq: r.get(0)?,
                    topic: r.get(1)?,
                    item_id: r.get(2)?,
                    document: r.get(3)?,
                    queued: from_ns(r.get(4)?),
                    attempts: r.get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32,
                    last_error: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Removes confirmed (or superseded) entries.
    pub async fn outbox_remove(&self, seqs: Vec<i64>) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.outbox_remove(&seqs).await;
        }
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for s in seqs {
                tx.execute("DELETE FROM outbox WHERE seq = ?1", params![s])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Records a failed attempt to send an entry.
    pub async fn outbox_failed(&self, seq: i64, error: &str) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.outbox_failed(seq, error).await;
        }
        let e = error.to_owned();
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE seq = ?1",
                params![seq, e],
            )?;
            Ok(())
        })
        .await
    }

    /// How many entries wait in the outbox.
    pub async fn outbox_len(&self) -> Result<usize, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.outbox_len().await;
        }
        self.with_conn(|conn| {
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
            Ok(n.max(0) as usize)
        })
        .await
    }

    /// Every item of `topic` handed to the consumer: item id → content hash.
    pub async fn delivered(&self, topic: &str) -> Result<HashMap<String, String>, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.delivered(topic).await;
        }
        let t = topic.to_owned();
        self.with_conn(move |conn| {
            let mut stmt =
                conn.prepare("SELECT item_id, content_hash FROM delivered WHERE topic = ?1")?;
            let rows = stmt.query_map(params![t], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<HashMap<_, _>, _>>()?)
        })
        .await
    }

    /// When the newest delivery on `topic` was recorded.
    pub async fn last_delivered(&self, topic: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.last_delivered(topic).await;
        }
        let t = topic.to_owned();
        self.with_conn(move |conn| {
            let ns: Option<i64> = conn.query_row(
                "SELECT MAX(delivered_ns) FROM delivered WHERE topic = ?1",
                params![t],
                |r| r.get(0),
            )?;
            Ok(ns.map(from_ns))
        })
        .await
    }

    /// Records that an item was handed to the consumer (replacing an older
    /// content's record), pruning the topic to [`DELIVERED_KEPT`] records.
    pub async fn mark_delivered(
        &self,
        topic: &str,
        item_id: &str,
        content_hash: &str,
    ) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg
                .mark_delivered(topic, item_id, content_hash, DELIVERED_KEPT)
                .await;
        }
        let (t, i, h) = (
            topic.to_owned(),
            item_id.to_owned(),
            content_hash.to_owned(),
        );
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = now_ns()?;
            tx.execute(
                "INSERT INTO delivered (topic, item_id, content_hash, delivered_ns) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (topic, item_id) DO UPDATE SET \
                 content_hash = excluded.content_hash, delivered_ns = excluded.delivered_ns",
                params![t, i, h, now],
            )?;
            // Pruning scans the topic's records, so only do it now and then
            // (about one write in 512).
            if rand::random::<u16>().is_multiple_of(512) {
                tx.execute(
                    "DELETE FROM delivered WHERE topic = ?1 AND rowid NOT IN \
                     (SELECT rowid FROM delivered WHERE topic = ?1 \
                      ORDER BY delivered_ns DESC LIMIT ?2)",
                    params![t, DELIVERED_KEPT],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Forgets deliveries: one item (retracted) or, with `None`, the whole
    /// topic (purged or deleted), so that a later publication of the same
    /// content is delivered again.
    pub async fn forget_delivered(
        &self,
        topic: &str,
        item_id: Option<&str>,
    ) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.forget_delivered(topic, item_id).await;
        }
        let (t, i) = (topic.to_owned(), item_id.map(str::to_owned));
        self.with_conn(move |conn| {
            match i {
                Some(i) => conn.execute(
                    "DELETE FROM delivered WHERE topic = ?1 AND item_id = ?2",
                    params![t, i],
                )?,
                None => conn.execute("DELETE FROM delivered WHERE topic = ?1", params![t])?,
            };
            Ok(())
        })
        .await
    }

    /// Records that a catch-up of `topic` did not finish (kept until
    /// [`catch_up_finished`](Self::catch_up_finished)).
    pub async fn catch_up_unfinished(&self, topic: &str) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.set_catch_up_unfinished(topic, true).await;
        }
        let t = topic.to_owned();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO catch_up_unfinished (topic, since_ns) VALUES (?1, ?2)",
                params![t, now_ns()?],
            )?;
            Ok(())
        })
        .await
    }

    /// Records that a catch-up of `topic` finished.
    pub async fn catch_up_finished(&self, topic: &str) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.set_catch_up_unfinished(topic, false).await;
        }
        let t = topic.to_owned();
        self.with_conn(move |conn| {
            conn.execute(
                "DELETE FROM catch_up_unfinished WHERE topic = ?1",
                params![t],
            )?;
            Ok(())
        })
        .await
    }

    /// Whether the last catch-up of `topic` did not finish.
    pub async fn is_catch_up_unfinished(&self, topic: &str) -> Result<bool, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.is_catch_up_unfinished(topic).await;
        }
        let t = topic.to_owned();
        self.with_conn(move |conn| {
            let n: i64 = conn.query_row(
                "SELECT COUNT(*) FROM catch_up_unfinished WHERE topic = ?1",
                params![t],
                |r| r.get(0),
            )?;
            Ok(n > 0)
        })
        .await
    }
}
