//! The items and topics of the store: put (insert, replace, or nothing for
//! the same content), retract and purge (leaving tombstones), reads by id
//! and in pages by sequence number, topic metadata.

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use sha2::{Digest, Sha256};

use super::handle::Store;
use super::rows::{from_ns, item_from_row, now_ns, to_ns, ITEM_COLUMNS};
use super::{
    Cursor, Page, PutOutcome, StoreError, StoredItem, Tombstone, TopicInfo, TOMBSTONES_KEPT,
};
use crate::envelope::Envelope;

impl Store {
    /// Stores `envelope`: inserts a new item, replaces changed content, or
    /// does nothing when the same content is already stored.
    pub async fn put(&self, envelope: Envelope) -> Result<PutOutcome, StoreError> {
        let topic = envelope.topic.clone();
        let outcome = match self.pg() {
            Some(pg) => pg.put(&envelope, content_hash(&envelope.document)).await?,
            None => {
                self.with_conn(move |conn| put_blocking(conn, &envelope))
                    .await?
            }
        };
        // After the commit, like the generation below (see `last_seq`).
        self.assigned(outcome.seq());
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
        let existed = match self.pg() {
            Some(pg) => pg.retract(topic, item_id).await?,
            None => {
                self.with_conn(move |conn| {
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
                .await?
            }
        };
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
        let gone = match self.pg() {
            Some(pg) => pg.purge(topic).await?,
            None => {
                self.with_conn(move |conn| {
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
                .await?
            }
        };
        if gone > 0 {
            self.count(topic, |c| c.retracted += gone as u64);
            tracing::info!(%topic, items = gone, "store purge");
        }
        Ok(gone)
    }

    /// The topic's remembered retractions, newest first (at most
    /// [`TOMBSTONES_KEPT`]). An item stored again loses its tombstone.
    pub async fn tombstones(&self, topic: &str) -> Result<Vec<Tombstone>, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.tombstones(topic).await;
        }
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
        if let Some(pg) = self.pg() {
            return pg.item_keys(topic).await;
        }
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
        if let Some(pg) = self.pg() {
            return pg.get(topic, item_id).await;
        }
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
        if let Some(pg) = self.pg() {
            return pg.page(topic, cursor, limit).await;
        }
        self.with_conn(move |conn| page_blocking(conn, &t, cursor, limit))
            .await
    }

    /// Registers a topic (so its empty feed exists) and returns its metadata.
    pub async fn ensure_topic(&self, topic: &str) -> Result<TopicInfo, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.ensure_topic(topic).await;
        }
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
        if let Some(pg) = self.pg() {
            return pg.topic(topic).await;
        }
        let t = topic.to_owned();
        self.with_conn(move |conn| topic_blocking(conn, &t)).await
    }

    /// Every topic the store knows, by name.
    pub async fn topics(&self) -> Result<Vec<TopicInfo>, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.topics().await;
        }
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(&format!("{TOPIC_SELECT} ORDER BY t.topic"))?;
            let rows = stmt.query_map([], topic_from_row)?;
            rows.map(|r| r?).collect()
        })
        .await
    }
}

/// Lower-case hex SHA-256 of a document: the content part of an item's key.
pub fn content_hash(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const TOPIC_SELECT: &str = "SELECT t.topic, t.created_ns, t.updated_ns, \
     (SELECT COUNT(*) FROM items i WHERE i.topic = t.topic) FROM topics t";

/// The statements of [`Store::put`], in one transaction.
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

/// The query of [`Store::page`].
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
