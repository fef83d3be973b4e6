//! The sinks' journal on PostgreSQL, shared by the replicas (see
//! `store::journal` for what it is, migration 7 for the tables).
//!
//! Every replica hears the same grid notifications and appends them; the
//! journal must hold each change once, so an append with a
//! [`JournalKey`] is skipped when the item's (or topic's) last journaled
//! change is the same — the rule `Store::put` follows for items ("same
//! content is a no-op"). Appends lock `sink_journal_head`, which both
//! orders positions by commit and makes that check race-free.

use super::durable::{ns, DB_NOW_NS};
use super::{with_client, Pg};
use crate::store::types::SINK_LEASE_PREFIX;
use crate::store::{JournalKey, StoreError};

/// A sink whose lease no replica held for this long (it left every
/// replica's configuration) no longer holds the journal back.
const STALE_LEASE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl Pg {
    /// See `Store::journal_append_keyed`: the head after the append.
    pub(crate) async fn journal_append(
        &self,
        key: Option<&JournalKey>,
        line: &str,
    ) -> Result<i64, StoreError> {
        with_client!(self, c => {
            let tx = c.transaction().await?;
            let head: i64 = tx
                .query_one("SELECT value FROM sink_journal_head FOR UPDATE", &[])
                .await?
                .get(0);
            if let Some(k) = key {
                let last = tx
                    .query_opt(
                        "SELECT mark FROM sink_journal_last WHERE topic = $1 AND item_id = $2",
                        &[&k.topic, &k.item_id],
                    )
                    .await?;
                if last.map(|r| r.get::<_, String>(0)).as_deref() == Some(k.mark.as_str()) {
                    // Another replica journaled this change already.
                    tx.rollback().await?;
                    return Ok(head);
                }
                if k.item_id.is_empty() {
                    // A purge or deletion: what the topic's items were is
                    // forgotten, so the same content again is journaled.
                    tx.execute("DELETE FROM sink_journal_last WHERE topic = $1", &[&k.topic])
                        .await?;
                } else {
                    tx.execute(
                        "DELETE FROM sink_journal_last WHERE topic = $1 AND item_id = ''",
                        &[&k.topic],
                    )
                    .await?;
                }
                tx.execute(
                    "INSERT INTO sink_journal_last (topic, item_id, mark) VALUES ($1, $2, $3) \
                     ON CONFLICT (topic, item_id) DO UPDATE SET mark = excluded.mark",
                    &[&k.topic, &k.item_id, &k.mark],
                )
                .await?;
            }
            let seq = head + 1;
            tx.execute(
                "INSERT INTO sink_journal (seq, line) VALUES ($1, $2)",
                &[&seq, &line],
            )
            .await?;
            tx.execute("UPDATE sink_journal_head SET value = $1", &[&seq]).await?;
            tx.commit().await?;
            Ok(seq)
        })
    }

    /// See `Store::journal_read`.
    pub(crate) async fn journal_read(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        with_client!(self, c => {
            let rows = c
                .query(
                    "SELECT seq, line FROM sink_journal WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&after, &limit],
                )
                .await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// See `Store::journal_head`.
    pub(crate) async fn journal_head(&self) -> Result<i64, StoreError> {
        with_client!(self, c => {
            Ok(c.query_one("SELECT value FROM sink_journal_head", &[]).await?.get(0))
        })
    }

    /// See `Store::sink_cursor`.
    pub(crate) async fn sink_cursor(&self, sink: &str) -> Result<Option<i64>, StoreError> {
        with_client!(self, c => {
            let row = c.query_opt("SELECT seq FROM sink_cursor WHERE sink = $1", &[&sink]).await?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// See `Store::set_sink_cursor`. A cursor only moves forward: a
    /// replica that lost the sink's lease while delivering must not take
    /// back what its successor recorded.
    pub(crate) async fn set_sink_cursor(&self, sink: &str, seq: i64) -> Result<(), StoreError> {
        with_client!(self, c => {
            c.execute(
                "INSERT INTO sink_cursor (sink, seq) VALUES ($1, $2) ON CONFLICT (sink) \
                 DO UPDATE SET seq = GREATEST(sink_cursor.seq, excluded.seq)",
                &[&sink, &seq],
            )
            .await?;
            Ok(())
        })
    }

    /// See `Store::journal_prune`: never past the cursor of a sink another
    /// replica delivers to (one whose lease was held within a day; a sink
    /// gone from every replica's configuration stops counting then).
    pub(crate) async fn journal_prune(&self, seq: i64) -> Result<(), StoreError> {
        let stale = ns(STALE_LEASE);
        let sql = format!(
            "DELETE FROM sink_journal WHERE seq <= $1 AND seq <= COALESCE((SELECT MIN(c.seq) \
             FROM sink_cursor c JOIN leases l ON l.name = $3::text || c.sink \
             WHERE l.until_ns > ({DB_NOW_NS}) - $2), $1)"
        );
        with_client!(self, c => {
            c.execute(&sql, &[&seq, &stale, &SINK_LEASE_PREFIX]).await?;
            Ok(())
        })
    }
}
