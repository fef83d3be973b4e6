//! Fixed blocks of the store's sequence space, for archived feeds.
//!
//! Every stored row takes a fresh `items.seq` from one AUTOINCREMENT
//! counter shared by all topics, and SQLite never hands out a value twice.
//! Cutting that space into blocks of `size` numbers — block `n` is
//! `n*size+1 ..= (n+1)*size` — gives sets of rows that can only shrink once
//! the counter has passed their end: no later insert (new item or new
//! content) can land in a block the counter has left behind. Such a block
//! is *closed*. Which block a row belongs to never changes, because a
//! row's `seq` never does (new content is a new row). That is what makes a
//! closed block, restricted to one topic, usable as an RFC 5005 archive
//! document.

use rusqlite::{params, Connection};

use super::handle::{assigned_seq, Store};
use super::rows::{item_from_row, ITEM_COLUMNS};
use super::{StoreError, StoredItem};

/// One closed block of a topic, read in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The topic's rows in the block, newest (highest `seq`) first.
    pub items: Vec<StoredItem>,
    /// The nearest older block holding a row of the topic.
    pub older: Option<u64>,
    /// The nearest newer *closed* block holding a row of the topic.
    pub newer: Option<u64>,
}

impl Store {
    /// The newest closed block (of `size` numbers) that holds a row of
    /// `topic`, if any.
    pub async fn newest_closed_block(
        &self,
        topic: &str,
        size: u64,
    ) -> Result<Option<u64>, StoreError> {
        if let Some(pg) = self.pg() {
            let seq = pg.newest_closed_seq(topic, size).await?;
            return Ok(seq.and_then(|s| block_of(s, size)));
        }
        let t = topic.to_owned();
        self.with_conn(move |conn| {
            let Some(end) = closed_end(conn, size)? else {
                return Ok(None);
            };
            Ok(newest_at_most(conn, &t, end)?.and_then(|seq| block_of(seq, size)))
        })
        .await
    }

    /// Block `index` (of `size` numbers) restricted to `topic`, or `None`
    /// while the block is not closed (or does not fit in `i64`).
    pub async fn closed_block(
        &self,
        topic: &str,
        size: u64,
        index: u64,
    ) -> Result<Option<Block>, StoreError> {
        if let Some(pg) = self.pg() {
            let Some(range) = bounds(index, size) else {
                return Ok(None);
            };
            let rows = pg.closed_block(topic, size, range).await?;
            return Ok(rows.map(|(items, older, newer)| Block {
                items,
                older: older.and_then(|s| block_of(s, size)),
                newer: newer.and_then(|s| block_of(s, size)),
            }));
        }
        let t = topic.to_owned();
        self.with_conn(move |conn| {
            let Some(end) = closed_end(conn, size)? else {
                return Ok(None);
            };
            let Some((lo, hi)) = bounds(index, size) else {
                return Ok(None);
            };
            if hi > end {
                return Ok(None);
            }
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM items \
                 WHERE topic = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq DESC"
            );
            let mut stmt = conn.prepare(&sql)?;
            let items = stmt
                .query_map(params![t, lo, hi], item_from_row)?
                .map(|r| r?)
                .collect::<Result<Vec<_>, _>>()?;
            let older = newest_at_most(conn, &t, lo - 1)?.and_then(|s| block_of(s, size));
            let newer: Option<i64> = conn.query_row(
                "SELECT MIN(seq) FROM items WHERE topic = ?1 AND seq > ?2 AND seq <= ?3",
                params![t, hi, end],
                |r| r.get(0),
            )?;
            Ok(Some(Block {
                items,
                older,
                newer: newer.and_then(|s| block_of(s, size)),
            }))
        })
        .await
    }
}

/// The last `seq` of the last closed block, or `None` when no block is
/// closed yet.
fn closed_end(conn: &Connection, size: u64) -> Result<Option<i64>, StoreError> {
    let Ok(size_i) = i64::try_from(size) else {
        return Ok(None);
    };
    if size_i == 0 {
        return Ok(None);
    }
    let end = assigned_seq(conn)? / size_i * size_i;
    Ok((end > 0).then_some(end))
}

/// The topic's highest `seq` that is at most `bound`.
fn newest_at_most(conn: &Connection, topic: &str, bound: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn.query_row(
        "SELECT MAX(seq) FROM items WHERE topic = ?1 AND seq <= ?2",
        params![topic, bound],
        |r| r.get(0),
    )?)
}

/// The block holding `seq` (sequence numbers start at 1).
pub fn block_of(seq: i64, size: u64) -> Option<u64> {
    let seq = u64::try_from(seq).ok()?.checked_sub(1)?;
    seq.checked_div(size)
}

/// The first and last `seq` of block `index`, if they fit in `i64`.
pub fn bounds(index: u64, size: u64) -> Option<(i64, i64)> {
    let lo = index.checked_mul(size)?.checked_add(1)?;
    let hi = index.checked_add(1)?.checked_mul(size)?;
    Some((i64::try_from(lo).ok()?, i64::try_from(hi).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_bounds_agree_and_never_overflow() {
        assert_eq!(block_of(1, 3), Some(0));
        assert_eq!(block_of(3, 3), Some(0));
        assert_eq!(block_of(4, 3), Some(1));
        assert_eq!(block_of(0, 3), None);
        assert_eq!(block_of(5, 0), None);
        assert_eq!(bounds(0, 3), Some((1, 3)));
        assert_eq!(bounds(1, 3), Some((4, 6)));
        assert_eq!(bounds(u64::MAX, 3), None);
        assert_eq!(bounds(u64::MAX / 3, 3), None, "past i64");
        for seq in 1..50 {
            let b = block_of(seq, 7).unwrap();
            let (lo, hi) = bounds(b, 7).unwrap();
            assert!(lo <= seq && seq <= hi);
        }
    }
}
