//! The persistent item store: every envelope the bridge serves, in SQLite.
//!
//! Items are keyed by (topic, item id) and deduplicated by content: storing
//! the same document again is a no-op, new content for a known id replaces
//! the old one (an updated incident) and moves it to the top of the feed, and
//! a retract deletes it. Each insert takes a fresh, never reused sequence
//! number, which the ROLIE feeds use as paging cursors.
//!
//! SQLite calls block, so every async method runs its query on tokio's
//! blocking pool (`spawn_blocking`); the async runtime never waits on disk.
//!
//! * `handle` — [`Store`]: the connection, the blocking pool, counters; the
//!   backend (SQLite, or PostgreSQL for several replicas) is chosen inside.
//! * `items` — items, tombstones and topics; `rows` — how they are stored.
//! * `blocks` — archive blocks of the sequence; `durable` — the outbox and
//!   delivery-cursor tables; `schema` — versioned migrations; `types`;
//!   `files` — owner-only state files and directories (0700/0600);
//!   `lease` — leases (one replica at a time does a job); `journal` —
//!   the own-cursor sinks' journal and cursors.
//! * `postgres/` — the same semantics on PostgreSQL: a small pool,
//!   migrations, the replicas' change notifications, outbox claims.

mod blocks;
mod durable;
pub mod files;
mod handle;
mod items;
mod journal;
mod lease;
mod postgres;
mod rows;
mod schema;
mod types;

pub use blocks::{block_of, bounds as block_bounds, Block};
pub use durable::{OutboxEntry, DELIVERED_KEPT};
pub use handle::{Store, TopicCounters};
pub use items::content_hash;
pub use lease::LEASE_DEFAULT;
pub use postgres::schema::PG_SCHEMA_VERSION;
pub use postgres::{is_postgres_url, redact_location, PgOptions};
pub use schema::{SCHEMA_VERSION, TOMBSTONES_KEPT};
pub use types::{
    Cursor, JournalKey, Page, PutOutcome, StoreError, StoredItem, Tombstone, TopicInfo,
};
