//! How items and times are stored in rows: the item columns read back into
//! a [`StoredItem`], timestamps as nanoseconds since the epoch.

use chrono::{DateTime, Utc};
use rusqlite::Row;

use super::{StoreError, StoredItem};
use crate::envelope::Envelope;

/// The columns [`item_from_row`] reads, in its order.
pub(super) const ITEM_COLUMNS: &str = "seq, topic, item_id, content_hash, publisher, received_ns, \
     delayed_ns, payload_ns, document, published_ns, stored_ns";

/// One row of [`ITEM_COLUMNS`] as a [`StoredItem`].
pub(super) fn item_from_row(row: &Row<'_>) -> rusqlite::Result<Result<StoredItem, StoreError>> {
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

/// Nanoseconds since the epoch (refused past the year 2262).
pub(super) fn to_ns(t: DateTime<Utc>) -> Result<i64, StoreError> {
    t.timestamp_nanos_opt()
        .ok_or_else(|| StoreError::Time(t.to_rfc3339()))
}

/// The time `ns` nanoseconds after the epoch.
pub(super) fn from_ns(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

/// Now, as [`to_ns`] stores it.
pub(super) fn now_ns() -> Result<i64, StoreError> {
    to_ns(Utc::now())
}
