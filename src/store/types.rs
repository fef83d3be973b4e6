//! The values the store hands out: stored items, pages, topics, outcomes.

use chrono::{DateTime, Utc};

use crate::envelope::Envelope;

/// One item as the store keeps it: the envelope plus the store's own metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// The insertion sequence number of this content; the newest is highest.
    /// A replaced item gets a new, higher number (it moves to the feed's top).
    pub seq: i64,
    /// The envelope as it was stored (the latest content for its item id).
    pub envelope: Envelope,
    /// Lower-case hex SHA-256 of `envelope.document`.
    pub content_hash: String,
    /// When this item id was first stored (kept across replacements).
    pub published: DateTime<Utc>,
    /// When this content was stored: the entry's `atom:updated`.
    pub updated: DateTime<Utc>,
}

/// A retracted item, remembered so feeds can announce the deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// The topic it was in.
    pub topic: String,
    /// The retracted item id.
    pub item_id: String,
    /// When the store deleted it.
    pub deleted: DateTime<Utc>,
}

/// What [`Store::put`](super::Store::put) did with an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// A new item id: stored under `seq`.
    Inserted {
        /// Its sequence number.
        seq: i64,
    },
    /// The same content was already stored: nothing changed.
    Unchanged {
        /// The existing sequence number.
        seq: i64,
    },
    /// New content for a known item id: the old row was replaced.
    Replaced {
        /// The new sequence number.
        seq: i64,
        /// The sequence number the old content had.
        previous: i64,
    },
}

impl PutOutcome {
    /// The sequence number the item has now.
    pub fn seq(&self) -> i64 {
        match *self {
            PutOutcome::Inserted { seq }
            | PutOutcome::Unchanged { seq }
            | PutOutcome::Replaced { seq, .. } => seq,
        }
    }

    /// Whether the store changed (and so the feed's `updated` moved).
    pub fn changed(&self) -> bool {
        !matches!(self, PutOutcome::Unchanged { .. })
    }
}

/// Where a page of a topic starts. Cursors are sequence numbers, never
/// offsets, so inserting new items does not shift the pages a client walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The newest items (RFC 5005 `first`).
    Newest,
    /// Items strictly older than this sequence number (RFC 5005 `next`).
    Before(i64),
    /// Items strictly newer than this sequence number, the nearest first
    /// (RFC 5005 `previous`); `After(0)` is the oldest page (`last`).
    After(i64),
}

/// One page of a topic, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The items, highest `seq` first.
    pub items: Vec<StoredItem>,
    /// Whether items newer than the first one on this page exist.
    pub has_newer: bool,
    /// Whether items older than the last one on this page exist.
    pub has_older: bool,
}

/// A topic the store knows about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// The pubsub node name.
    pub topic: String,
    /// When the store first saw the topic.
    pub created: DateTime<Utc>,
    /// When an entry was last added, replaced or deleted (RFC 8322 §6.1.3);
    /// the creation time for a topic that never changed.
    pub updated: DateTime<Utc>,
    /// How many items the topic holds now.
    pub items: u64,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file could not be created (0600).
    #[error("cannot create the store: {0}")]
    Create(String),
    /// The database was written by a newer gridlink.
    #[error("store schema version {found} is newer than this gridlink supports ({supported})")]
    TooNew {
        /// The database's `user_version`.
        found: i64,
        /// [`SCHEMA_VERSION`](super::SCHEMA_VERSION).
        supported: i64,
    },
    /// A timestamp could not be represented (outside 1677–2262).
    #[error("timestamp out of range: {0}")]
    Time(String),
    /// The blocking task running the query panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(String),
    /// A lock was poisoned by a panic in another thread.
    #[error("store lock poisoned")]
    Poisoned,
    /// PostgreSQL reported an error (after the retries a lost connection
    /// gets, see `store::postgres`).
    #[error("postgresql: {0}")]
    Postgres(String),
    /// The `--store` location is not usable (a malformed `postgres://` URL).
    #[error("store location: {0}")]
    Location(String),
    /// The operation has no implementation for this backend yet.
    #[error("{0} is not implemented for the PostgreSQL store")]
    Unsupported(&'static str),
    /// The publish outbox holds its maximum number of entries.
    #[error("the outbox is full ({max} documents wait for the broker); retry later or raise --outbox-max")]
    OutboxFull {
        /// The configured bound.
        max: usize,
    },
}

/// The prefix of a sink's lease name (`sink NAME`).
pub(super) const SINK_LEASE_PREFIX: &str = "sink ";

/// What a journal entry changes on the grid, so that replicas sharing a
/// PostgreSQL store, each hearing the same notification, journal it once:
/// an entry is skipped when the last one journaled for the same `topic`
/// and `item_id` carried the same `mark` (as storing the same content
/// again is a no-op). Events about one replica's session (resubscribed,
/// lagged, a gap) have no key: each replica journals its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalKey {
    /// The topic.
    pub topic: String,
    /// The item; empty for a change of the whole topic (purge, deletion).
    pub item_id: String,
    /// What happened: the content hash of a published item, or a word
    /// (`retracted`, `rejected`, `purged`, `deleted`).
    pub mark: String,
}
