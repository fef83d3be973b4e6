//! Items, tombstones and topics on PostgreSQL: the statements of
//! `store::items`, with the sequence taken from `seq_counter` under its row
//! lock (see `mod.rs`) and a `NOTIFY` at the end of every change.

use tokio_postgres::{GenericClient, Row};

use super::listen::CHANNEL;
use super::{with_client, Pg};
use crate::envelope::Envelope;
use crate::store::rows::{from_ns, now_ns, to_ns, ITEM_COLUMNS};
use crate::store::{
    Cursor, Page, PutOutcome, StoreError, StoredItem, Tombstone, TopicInfo, TOMBSTONES_KEPT,
};

/// Takes the sequence's lock for the rest of the transaction: item writers
/// run one at a time, in commit order (see `mod.rs`).
const LOCK_SEQ: &str = "SELECT value FROM seq_counter FOR UPDATE";

const TOPIC_SELECT: &str = "SELECT t.topic, t.created_ns, t.updated_ns, \
     (SELECT COUNT(*) FROM items i WHERE i.topic = t.topic) FROM topics t";

impl Pg {
    /// See `Store::put`.
    /// `hash` is the document's `content_hash`.
    pub(crate) async fn put(&self, env: &Envelope, hash: String) -> Result<PutOutcome, StoreError> {
        let received = to_ns(env.received_at)?;
        let delayed = env.delayed_at.map(to_ns).transpose()?;
        let now = now_ns()?;
        with_client!(self, c => {
            // One round trip: `gridlink_put` (schema version 6) runs the
            // statements under the sequence's lock and notifies.
            let row = c
                .query_one(
                    "SELECT kind, seq, previous FROM gridlink_put($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[&env.topic, &env.item_id, &hash, &env.publisher, &received, &delayed,
                      &env.payload_ns, &env.document, &now, &CHANNEL],
                )
                .await?;
            let (kind, seq, previous): (i32, i64, Option<i64>) = (row.get(0), row.get(1), row.get(2));
            Ok(match (kind, previous) {
                (0, _) => PutOutcome::Unchanged { seq },
                (_, Some(previous)) => PutOutcome::Replaced { seq, previous },
                _ => PutOutcome::Inserted { seq },
            })
        })
    }

    /// See `Store::retract`.
    pub(crate) async fn retract(&self, topic: &str, item_id: &str) -> Result<bool, StoreError> {
        let now = now_ns()?;
        with_client!(self, c => {
            let tx = c.transaction().await?;
            tx.execute(LOCK_SEQ, &[]).await?;
            let n = tx
                .execute("DELETE FROM items WHERE topic = $1 AND item_id = $2", &[&topic, &item_id])
                .await?;
            if n > 0 {
                touch_topic(&tx, topic, now).await?;
                tx.execute(
                    "INSERT INTO tombstones (topic, item_id, deleted_ns) VALUES ($1, $2, $3) \
                     ON CONFLICT (topic, item_id) DO UPDATE SET deleted_ns = excluded.deleted_ns",
                    &[&topic, &item_id, &now],
                )
                .await?;
                trim_tombstones(&tx, topic).await?;
                notify(&tx, topic).await?;
            }
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    /// See `Store::purge`.
    pub(crate) async fn purge(&self, topic: &str) -> Result<usize, StoreError> {
        let now = now_ns()?;
        with_client!(self, c => {
            let tx = c.transaction().await?;
            tx.execute(LOCK_SEQ, &[]).await?;
            let n = tx
                .execute(
                    "INSERT INTO tombstones (topic, item_id, deleted_ns) \
                     SELECT topic, item_id, $2 FROM items WHERE topic = $1 \
                     ON CONFLICT (topic, item_id) DO UPDATE SET deleted_ns = excluded.deleted_ns",
                    &[&topic, &now],
                )
                .await?;
            if n > 0 {
                tx.execute("DELETE FROM items WHERE topic = $1", &[&topic]).await?;
                touch_topic(&tx, topic, now).await?;
                trim_tombstones(&tx, topic).await?;
                notify(&tx, topic).await?;
            }
            tx.commit().await?;
            Ok(n as usize)
        })
    }

    /// See `Store::tombstones`.
    pub(crate) async fn tombstones(&self, topic: &str) -> Result<Vec<Tombstone>, StoreError> {
        with_client!(self, c => {
            let rows = c
                .query(
                    "SELECT item_id, deleted_ns FROM tombstones WHERE topic = $1 \
                     ORDER BY deleted_ns DESC, item_id",
                    &[&topic],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| Tombstone {
                    topic: topic.to_owned(),
                    item_id: r.get(0),
                    deleted: from_ns(r.get(1)),
                })
                .collect())
        })
    }

    /// See `Store::item_keys`.
    pub(crate) async fn item_keys(&self, topic: &str) -> Result<Vec<(String, String)>, StoreError> {
        with_client!(self, c => {
            let rows = c
                .query(
                    "SELECT item_id, content_hash FROM items WHERE topic = $1 ORDER BY item_id",
                    &[&topic],
                )
                .await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// See `Store::get`.
    pub(crate) async fn get(
        &self,
        topic: &str,
        item_id: &str,
    ) -> Result<Option<StoredItem>, StoreError> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE topic = $1 AND item_id = $2");
        with_client!(self, c => {
            Ok(c.query_opt(&sql, &[&topic, &item_id]).await?.map(|r| item_from_row(&r)))
        })
    }

    /// See `Store::page`: the same queries as SQLite's, in one snapshot.
    pub(crate) async fn page(
        &self,
        topic: &str,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let fetch = (limit + 1) as i64;
        let (cond, bound, ascending) = match cursor {
            Cursor::Newest => ("topic = $1 AND seq < $2 ORDER BY seq DESC", i64::MAX, false),
            Cursor::Before(s) => ("topic = $1 AND seq < $2 ORDER BY seq DESC", s, false),
            Cursor::After(s) => ("topic = $1 AND seq > $2 ORDER BY seq ASC", s, true),
        };
        let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE {cond} LIMIT $3");
        with_client!(self, c => {
            let tx = c
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let rows = tx.query(&sql, &[&topic, &bound, &fetch]).await?;
            let mut items: Vec<StoredItem> = rows.iter().map(item_from_row).collect();
            let more = items.len() > limit;
            items.truncate(limit);
            let (has_newer, has_older) = if ascending {
                items.reverse();
                let older = match items.last() {
                    Some(last) => exists(&tx, topic, "<", last.seq).await?,
                    None => exists(&tx, topic, "<=", bound).await?,
                };
                (more, older)
            } else {
                let newer = match (cursor, items.first()) {
                    (Cursor::Newest, _) => false,
                    (_, Some(first)) => exists(&tx, topic, ">", first.seq).await?,
                    (_, None) => exists(&tx, topic, ">=", bound).await?,
                };
                (newer, more)
            };
            tx.commit().await?;
            Ok(Page { items, has_newer, has_older })
        })
    }

    /// See `Store::ensure_topic`.
    pub(crate) async fn ensure_topic(&self, topic: &str) -> Result<TopicInfo, StoreError> {
        let now = now_ns()?;
        let sql = format!("{TOPIC_SELECT} WHERE t.topic = $1");
        with_client!(self, c => {
            c.execute(
                "INSERT INTO topics (topic, created_ns, updated_ns) VALUES ($1, $2, $2) \
                 ON CONFLICT (topic) DO NOTHING",
                &[&topic, &now],
            )
            .await?;
            Ok(c.query_opt(&sql, &[&topic]).await?.map(|r| topic_from_row(&r)))
        })?
        .ok_or(StoreError::Task("topic vanished".into()))
    }

    /// See `Store::topic`.
    pub(crate) async fn topic(&self, topic: &str) -> Result<Option<TopicInfo>, StoreError> {
        let sql = format!("{TOPIC_SELECT} WHERE t.topic = $1");
        with_client!(self, c => {
            Ok(c.query_opt(&sql, &[&topic]).await?.map(|r| topic_from_row(&r)))
        })
    }

    /// See `Store::topics`.
    pub(crate) async fn topics(&self) -> Result<Vec<TopicInfo>, StoreError> {
        // `COLLATE "C"`: byte order, as SQLite sorts, whatever the
        // database's locale says.
        let sql = format!("{TOPIC_SELECT} ORDER BY t.topic COLLATE \"C\"");
        with_client!(self, c => {
            Ok(c.query(&sql, &[]).await?.iter().map(topic_from_row).collect())
        })
    }
}

/// One row of [`ITEM_COLUMNS`] as a [`StoredItem`].
pub(super) fn item_from_row(row: &Row) -> StoredItem {
    let delayed: Option<i64> = row.get(6);
    StoredItem {
        seq: row.get(0),
        envelope: Envelope {
            topic: row.get(1),
            item_id: row.get(2),
            publisher: row.get(4),
            received_at: from_ns(row.get(5)),
            delayed_at: delayed.map(from_ns),
            payload_ns: row.get(7),
            document: row.get(8),
        },
        content_hash: row.get(3),
        published: from_ns(row.get(9)),
        updated: from_ns(row.get(10)),
    }
}

fn topic_from_row(row: &Row) -> TopicInfo {
    let count: i64 = row.get(3);
    TopicInfo {
        topic: row.get(0),
        created: from_ns(row.get(1)),
        updated: from_ns(row.get(2)),
        items: count.max(0) as u64,
    }
}

async fn exists(
    c: &impl GenericClient,
    topic: &str,
    cond: &str,
    seq: i64,
) -> Result<bool, tokio_postgres::Error> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM items WHERE topic = $1 AND seq {cond} $2)");
    Ok(c.query_one(&sql, &[&topic, &seq]).await?.get(0))
}

/// Tells every replica (at commit) that `topic` changed, with the sequence
/// as it stands in this transaction.
async fn notify(c: &impl GenericClient, topic: &str) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "SELECT pg_notify($1, (SELECT value FROM seq_counter)::text || ' ' || $2)",
        &[&CHANNEL, &topic],
    )
    .await?;
    Ok(())
}

async fn touch_topic(
    c: &impl GenericClient,
    topic: &str,
    now: i64,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO topics (topic, created_ns, updated_ns) VALUES ($1, $2, $2) \
         ON CONFLICT (topic) DO UPDATE SET updated_ns = GREATEST(topics.updated_ns, excluded.updated_ns)",
        &[&topic, &now],
    )
    .await?;
    Ok(())
}

/// Keeps only the newest [`TOMBSTONES_KEPT`] tombstones of `topic`.
async fn trim_tombstones(c: &impl GenericClient, topic: &str) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "DELETE FROM tombstones WHERE topic = $1 AND item_id NOT IN \
         (SELECT item_id FROM tombstones WHERE topic = $1 \
          ORDER BY deleted_ns DESC, item_id LIMIT $2)",
        &[&topic, &TOMBSTONES_KEPT],
    )
    .await?;
    Ok(())
}
