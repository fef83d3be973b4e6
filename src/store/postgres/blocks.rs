//! Closed archive blocks on PostgreSQL: `store::blocks`' queries, in one
//! snapshot. A block is closed once `seq_counter` has passed its end; since
//! sequence numbers commit in order (`mod.rs`), nothing can land in it
//! later, on any replica.

use tokio_postgres::GenericClient;

use super::items::item_from_row;
use super::{with_client, Pg};
use crate::store::rows::ITEM_COLUMNS;
use crate::store::{StoreError, StoredItem};

/// A closed block's rows, and the `seq` of the topic's nearest rows below
/// and above it (`Store::closed_block` turns them into block numbers).
pub(crate) type BlockRows = (Vec<StoredItem>, Option<i64>, Option<i64>);

impl Pg {
    /// See `Store::newest_closed_block`: the topic's newest `seq` in a
    /// closed block.
    pub(crate) async fn newest_closed_seq(
        &self,
        topic: &str,
        size: u64,
    ) -> Result<Option<i64>, StoreError> {
        with_client!(self, c => {
            let Some(end) = closed_end(&*c, size).await? else {
                return Ok(None);
            };
            newest_at_most(&*c, topic, end).await
        })
    }

    /// See `Store::closed_block`: the rows of `lo..=hi` if that block
    /// (of `size` numbers) is closed.
    pub(crate) async fn closed_block(
        &self,
        topic: &str,
        size: u64,
        (lo, hi): (i64, i64),
    ) -> Result<Option<BlockRows>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM items \
             WHERE topic = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq DESC"
        );
        with_client!(self, c => {
            let tx = c
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let Some(end) = closed_end(&tx, size).await? else {
                return Ok(None);
            };
            if hi > end {
                return Ok(None);
            }
            let items = tx
                .query(&sql, &[&topic, &lo, &hi])
                .await?
                .iter()
                .map(item_from_row)
                .collect();
            let older = newest_at_most(&tx, topic, lo - 1).await?;
            let newer: Option<i64> = tx
                .query_one(
                    "SELECT MIN(seq) FROM items WHERE topic = $1 AND seq > $2 AND seq <= $3",
                    &[&topic, &hi, &end],
                )
                .await?
                .get(0);
            tx.commit().await?;
            Ok(Some((items, older, newer)))
        })
    }
}

/// The last `seq` of the last closed block, or `None` when none is closed.
async fn closed_end(
    c: &impl GenericClient,
    size: u64,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let Ok(size_i) = i64::try_from(size) else {
        return Ok(None);
    };
    if size_i == 0 {
        return Ok(None);
    }
    let assigned: i64 = c
        .query_one("SELECT value FROM seq_counter", &[])
        .await?
        .get(0);
    let end = assigned / size_i * size_i;
    Ok((end > 0).then_some(end))
}

/// The topic's highest `seq` that is at most `bound`.
async fn newest_at_most(
    c: &impl GenericClient,
    topic: &str,
    bound: i64,
) -> Result<Option<i64>, tokio_postgres::Error> {
    Ok(c.query_one(
        "SELECT MAX(seq) FROM items WHERE topic = $1 AND seq <= $2",
        &[&topic, &bound],
    )
    .await?
    .get(0))
}
