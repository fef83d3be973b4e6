//! The PostgreSQL schema and its versioned migrations.
//!
//! The version lives in a one-row table, `gridlink_schema`. Each step moves
//! the database from version `n` to `n + 1` in one transaction, holding an
//! advisory lock so that replicas starting together migrate once, one
//! after the other. Steps 1–4 mirror the SQLite store's (`store::schema`);
//! new steps are appended, existing ones never edited. Times are
//! nanoseconds since the Unix epoch (UTC) in `BIGINT`s, as in SQLite, so
//! both backends render byte-identical feeds.

use super::{with_client, Pg};
use crate::store::StoreError;

/// The advisory lock taken while migrating ("grid" in ASCII).
const MIGRATION_LOCK: i64 = 0x6772_6964;

const MIGRATIONS: &[&str] = &[
    // Version 1: items, topics, and the one sequence. `seq_counter` is a
    // single row rather than a PostgreSQL SEQUENCE: `nextval` is not
    // transactional, so a later number could commit before an earlier
    // one and a reader paging by `seq` (or an archive block taken as
    // closed) would miss the earlier. Locking the row orders commits.
    r#"
    CREATE TABLE seq_counter (
        id     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
        value  BIGINT  NOT NULL
    );
    INSERT INTO seq_counter (id, value) VALUES (TRUE, 0);
    CREATE TABLE items (
        seq           BIGINT  PRIMARY KEY,
        topic         TEXT    NOT NULL,
        item_id       TEXT    NOT NULL,
        content_hash  TEXT    NOT NULL,
        publisher     TEXT,
        received_ns   BIGINT  NOT NULL,
        delayed_ns    BIGINT,
        payload_ns    TEXT    NOT NULL,
        document      TEXT    NOT NULL,
        published_ns  BIGINT  NOT NULL,
        stored_ns     BIGINT  NOT NULL,
        UNIQUE (topic, item_id)
    );
    CREATE INDEX items_by_topic_seq ON items (topic, seq);
    CREATE TABLE topics (
        topic       TEXT    PRIMARY KEY,
        created_ns  BIGINT  NOT NULL,
        updated_ns  BIGINT  NOT NULL
    );
    "#,
    // Version 2: tombstones of retracted items.
    r#"
    CREATE TABLE tombstones (
        topic       TEXT    NOT NULL,
        item_id     TEXT    NOT NULL,
        deleted_ns  BIGINT  NOT NULL,
        PRIMARY KEY (topic, item_id)
    );
    CREATE INDEX tombstones_by_topic_time ON tombstones (topic, deleted_ns);
    "#,
    // Version 3: the loss-free layer. An outbox entry is claimed by the
    // replica that drains it until `claimed_until_ns`; a replica that
    // dies leaves claims that run out, and another takes the entries.
    r#"
    CREATE TABLE outbox (
        seq               BIGSERIAL PRIMARY KEY,
        topic             TEXT    NOT NULL,
        item_id           TEXT    NOT NULL,
        document          TEXT    NOT NULL,
        queued_ns         BIGINT  NOT NULL,
        attempts          INTEGER NOT NULL DEFAULT 0,
        last_error        TEXT,
        claimed_by        TEXT,
        claimed_until_ns  BIGINT
    );
    CREATE TABLE delivered (
        topic         TEXT    NOT NULL,
        item_id       TEXT    NOT NULL,
        content_hash  TEXT    NOT NULL,
        delivered_ns  BIGINT  NOT NULL,
        PRIMARY KEY (topic, item_id)
    );
    CREATE INDEX delivered_by_topic_time ON delivered (topic, delivered_ns);
    "#,
    // Version 4: topics whose last catch-up did not finish.
    r#"
    CREATE TABLE catch_up_unfinished (
        topic     TEXT    PRIMARY KEY,
        since_ns  BIGINT  NOT NULL
    );
    "#,
    // Version 5: leases — a job (polling one feed) done by one replica at
    // a time, taken over when its holder stops renewing it.
    r#"
    CREATE TABLE leases (
        name      TEXT    PRIMARY KEY,
        holder    TEXT    NOT NULL,
        until_ns  BIGINT  NOT NULL
    );
    "#,
    // Version 6: `Store::put` as one server-side function — one round
    // trip instead of eight, which is what bounds ingest (every writer
    // waits for the sequence's lock, held for the whole transaction). The
    // same statements as SQLite's `put_blocking`, in the same order;
    // `kind` 0 = unchanged, 1 = inserted, 2 = replaced.
    r#"
    CREATE FUNCTION gridlink_put(
        p_topic TEXT, p_item TEXT, p_hash TEXT, p_publisher TEXT, p_received BIGINT,
        p_delayed BIGINT, p_payload_ns TEXT, p_document TEXT, p_now BIGINT, p_channel TEXT,
        OUT kind INT, OUT seq BIGINT, OUT previous BIGINT
    ) LANGUAGE plpgsql AS $$
    DECLARE
        old_seq BIGINT;
        old_hash TEXT;
        old_published BIGINT;
        first_published BIGINT;
    BEGIN
        -- The same content already committed: nothing to do, no lock.
        SELECT i.seq, i.content_hash INTO old_seq, old_hash
            FROM items i WHERE i.topic = p_topic AND i.item_id = p_item;
        IF FOUND AND old_hash = p_hash THEN
            kind := 0; seq := old_seq; RETURN;
        END IF;
        PERFORM 1 FROM seq_counter FOR UPDATE;
        -- Again under the lock: another replica may have just stored it.
        SELECT i.seq, i.content_hash, i.published_ns INTO old_seq, old_hash, old_published
            FROM items i WHERE i.topic = p_topic AND i.item_id = p_item;
        IF FOUND AND old_hash = p_hash THEN
            kind := 0; seq := old_seq; RETURN;
        ELSIF FOUND THEN
            DELETE FROM items i WHERE i.seq = old_seq;
            first_published := old_published; kind := 2; previous := old_seq;
        ELSE
            first_published := p_now; kind := 1;
        END IF;
        UPDATE seq_counter SET value = value + 1 RETURNING value INTO seq;
        INSERT INTO items (seq, topic, item_id, content_hash, publisher, received_ns,
            delayed_ns, payload_ns, document, published_ns, stored_ns)
            VALUES (seq, p_topic, p_item, p_hash, p_publisher, p_received, p_delayed,
                p_payload_ns, p_document, first_published, p_now);
        DELETE FROM tombstones t WHERE t.topic = p_topic AND t.item_id = p_item;
        INSERT INTO topics (topic, created_ns, updated_ns) VALUES (p_topic, p_now, p_now)
            ON CONFLICT (topic) DO UPDATE
            SET updated_ns = GREATEST(topics.updated_ns, excluded.updated_ns);
        PERFORM pg_notify(p_channel, seq::text || ' ' || p_topic);
    END
    $$;
    "#,
    // Version 7: the sinks' journal (`store::journal`), shared by the
    // replicas. `sink_journal_head` is a one-row counter for the same
    // reason as `seq_counter`: an appender locks it for its transaction,
    // so positions commit in order and a sink reading after its cursor
    // never skips one that commits late. `sink_journal_last` is the last
    // change journaled per item (`item_id` '' for the topic itself): a
    // replica journals a grid change only when it differs from that, so
    // every replica hearing the same notification journals it once.
    // Cursors are shared rows.
    r#"
    CREATE TABLE sink_journal_head (
        id     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
        value  BIGINT  NOT NULL
    );
    INSERT INTO sink_journal_head (id, value) VALUES (TRUE, 0);
    CREATE TABLE sink_journal (
        seq   BIGINT  PRIMARY KEY,
        line  TEXT    NOT NULL
    );
    CREATE TABLE sink_journal_last (
        topic    TEXT  NOT NULL,
        item_id  TEXT  NOT NULL,
        mark     TEXT  NOT NULL,
        PRIMARY KEY (topic, item_id)
    );
    CREATE TABLE sink_cursor (
        sink  TEXT    PRIMARY KEY,
        seq   BIGINT  NOT NULL
    );
    "#,
];

/// The schema version this build writes to PostgreSQL.
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

impl Pg {
    /// Brings the database up to [`PG_SCHEMA_VERSION`], refusing one from
    /// the future.
    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        migrate(self).await
    }
}

async fn migrate(pg: &Pg) -> Result<(), StoreError> {
    loop {
        let step: Result<Option<i64>, StoreError> = with_client!(pg, c => {
            let tx = c.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS gridlink_schema (version BIGINT NOT NULL); \
                 INSERT INTO gridlink_schema (version) SELECT 0 \
                 WHERE NOT EXISTS (SELECT 1 FROM gridlink_schema);",
            )
            .await?;
            let current: i64 = tx.query_one("SELECT version FROM gridlink_schema", &[]).await?.get(0);
            if current > PG_SCHEMA_VERSION {
                return Ok(Some(-current));
            }
            let Some(sql) = usize::try_from(current).ok().and_then(|i| MIGRATIONS.get(i)) else {
                return Ok(None);
            };
            tx.batch_execute(sql).await?;
            tx.execute("UPDATE gridlink_schema SET version = $1", &[&(current + 1)]).await?;
            tx.commit().await?;
            Ok(Some(current + 1))
        });
        match step? {
            None => return Ok(()),
            Some(v) if v < 0 => {
                return Err(StoreError::TooNew {
                    found: -v,
                    supported: PG_SCHEMA_VERSION,
                })
            }
            Some(v) => tracing::info!(version = v, "postgresql store schema migrated"),
        }
    }
}
