//! The store's schema and its versioned migrations.
//!
//! The schema version lives in SQLite's `PRAGMA user_version`. Each step in
//! [`MIGRATIONS`] moves the database from version `n` to `n + 1` inside one
//! transaction, so a crash mid-migration leaves the previous version intact.
//! New tables come by appending a step here; existing steps are never edited.

use rusqlite::{Connection, TransactionBehavior};

/// One migration step: SQL that moves the schema from its index to index + 1.
const MIGRATIONS: &[&str] = &[
    // Version 1: items and topics.
    //
    // `seq` is an AUTOINCREMENT key, so SQLite never reuses a value even after
    // the newest row is deleted: paging cursors built on it stay stable.
    // `published_ns` is when the item id was first stored, `stored_ns` when
    // this content was; times are nanoseconds since the Unix epoch (UTC).
    r#"
    CREATE TABLE items (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        topic         TEXT    NOT NULL,
        item_id       TEXT    NOT NULL,
        content_hash  TEXT    NOT NULL,
        publisher     TEXT,
        received_ns   INTEGER NOT NULL,
        delayed_ns    INTEGER,
        payload_ns    TEXT    NOT NULL,
        document      TEXT    NOT NULL,
        published_ns  INTEGER NOT NULL,
        stored_ns     INTEGER NOT NULL,
        UNIQUE (topic, item_id)
    );
    CREATE INDEX items_by_topic_seq ON items (topic, seq);
    CREATE TABLE topics (
        topic       TEXT    PRIMARY KEY,
        created_ns  INTEGER NOT NULL,
        updated_ns  INTEGER NOT NULL
    );
    "#,
    // Version 2: tombstones of retracted items (RFC 6721 `at:deleted-entry`),
    // so feed pollers learn about deletions. Only the newest
    // `TOMBSTONES_KEPT` per topic are kept.
    r#"
    CREATE TABLE tombstones (
        topic       TEXT    NOT NULL,
        item_id     TEXT    NOT NULL,
        deleted_ns  INTEGER NOT NULL,
        PRIMARY KEY (topic, item_id)
    );
    CREATE INDEX tombstones_by_topic_time ON tombstones (topic, deleted_ns);
    "#,
    // Version 3: the loss-free layer (`crate::durable`).
    //
    // `outbox`: documents a caller was told were accepted, written before
    // they are sent and deleted only when the broker confirmed; `seq` gives
    // the sending order. `delivered`: per topic, the (item id, content hash)
    // a subscriber has handed to its consumer — the cursor that makes
    // catch-up after a restart exactly-once.
    r#"
    CREATE TABLE outbox (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        topic       TEXT    NOT NULL,
        item_id     TEXT    NOT NULL,
        document    TEXT    NOT NULL,
        queued_ns   INTEGER NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT
    );
    CREATE TABLE delivered (
        topic         TEXT    NOT NULL,
        item_id       TEXT    NOT NULL,
        content_hash  TEXT    NOT NULL,
        delivered_ns  INTEGER NOT NULL,
        PRIMARY KEY (topic, item_id)
    );
    CREATE INDEX delivered_by_topic_time ON delivered (topic, delivered_ns);
    "#,
    // Version 4: topics whose last catch-up did not finish. The follower's
    // paged catch-up skips the oldest listed ids as long as each was
    // delivered, which is sound only while deliveries follow the broker's
    // order; a catch-up that failed (and live items delivered after it)
    // breaks that, so such a topic is caught up in full until one catch-up
    // finishes.
    r#"
    CREATE TABLE catch_up_unfinished (
        topic     TEXT    PRIMARY KEY,
        since_ns  INTEGER NOT NULL
    );
    "#,
];

/// How many tombstones a topic keeps (the oldest are pruned).
pub const TOMBSTONES_KEPT: i64 = 100;

/// The schema version this build of gridlink writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings `conn` up to [`SCHEMA_VERSION`], refusing databases from the future.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), super::StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(super::StoreError::TooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let next = index as i64 + 1;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        // PRAGMA takes no bound parameters; `next` is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {next}"))?;
        tx.commit()?;
        tracing::info!(version = next, "store schema migrated");
    }
    Ok(())
}
