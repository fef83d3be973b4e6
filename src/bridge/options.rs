//! What a bridge bridges and how strictly ([`BridgeOptions`]), and the
//! errors that stop it.

use crate::durable::OutboxOptions;
use crate::grid::{GridError, TopicSelection};
use crate::iodef::{Redaction, ValidationLevel};
use crate::rolie::poll::{PollOrigin, PollSource};
use crate::rolie::RolieConfig;
use crate::sink::{SinkConfig, SinkError};

/// Errors that stop the bridge.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The grid side failed (subscribe, first catch-up).
    #[error(transparent)]
    Grid(#[from] GridError),
    /// The HTTP side failed (bind, TLS settings).
    #[error(transparent)]
    Serve(#[from] crate::rolie::ServeError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// Following the topics failed (first catch-up).
    #[error(transparent)]
    Follow(#[from] crate::durable::FollowError),
    /// The HTTP client for polling could not be built.
    #[error("HTTP client: {0}")]
    Http(String),
    /// A sink could not handle an event (it stays unrecorded in the cursor).
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A RID source (`[[source]] type = "rid"`) cannot start.
    #[error("RID source: {0}")]
    Rid(#[from] crate::rid::config::RidConfigError),
    /// The XMPP session ended on its own (reconnecting cannot succeed).
    #[error("the XMPP session ended: {0}")]
    SessionEnded(String),
}

/// What the bridge bridges and how strictly.
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// Topics to serve.
    pub topics: TopicSelection,
    /// The HTTP side.
    pub rolie: RolieConfig,
    /// Validation of documents arriving from the grid.
    pub ingest_validation: ValidationLevel,
    /// Validation of documents POSTed to the repository.
    pub publish_validation: ValidationLevel,
    /// Largest document accepted for publishing.
    pub max_payload: usize,
    /// What to leave out of documents POSTed or polled before they are
    /// published (RFC 8600 §9); [`Redaction::new`] leaves nothing out.
    pub redaction: Redaction,
    /// Remote ROLIE/Atom feeds to publish into grid topics.
    pub poll: Vec<PollSource>,
    /// CSAF providers (`provider-metadata.json` URLs) whose advisories go
    /// to grid topics (`--poll-csaf`).
    pub poll_csaf: Vec<PollSource>,
    /// OpenPGP keys of `poll_csaf` sources (`--csaf-key`): a source with
    /// keys publishes only advisories with a good signature by one of them.
    pub csaf_keys: Vec<crate::rolie::poll::openpgp::CsafKey>,
    /// Origins pollers may fetch from besides each feed's own
    /// (`--poll-allow`).
    pub poll_allow: Vec<PollOrigin>,
    /// Time between two polls of a feed.
    pub poll_interval: std::time::Duration,
    /// Where pollers remember what they published.
    pub state_dir: std::path::PathBuf,
    /// The publish outbox (kept in the bridge's store).
    pub outbox: OutboxOptions,
    /// How long a POST waits for the broker's confirmation before it is
    /// answered 202 Accepted (the document stays queued in the outbox).
    pub confirm_wait: std::time::Duration,
    /// Items per catch-up request (see [`Follower::start_paged`](crate::durable::Follower::start_paged);
    /// default [`crate::durable::CATCH_UP_PAGE`]).
    pub catch_up_page: u32,
    /// Sinks besides the store (`[[sink]]` tables): each event reaches
    /// them too before it is recorded in the cursor.
    pub sinks: Vec<SinkConfig>,
    /// RID endpoints run as sources (`[[source]] type = "rid"`): their Reports and requests go
    /// to the grid through this bridge's outbox, their Queries are answered from its store.
    pub rid: Vec<crate::rid::RidConfig>,
}

/// Default of [`BridgeOptions::confirm_wait`].
pub const DEFAULT_CONFIRM_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A bridge of no topic yet (`topics` is empty), listening where [`RolieConfig::default`] says,
/// validating documents from the grid `Basic` and POSTed ones `Strict`, with the grid's payload
/// limit, no redaction, no poller, sink or extra source; pollers' state under `./poll` (callers
/// that poll set `state_dir`). Callers name what differs and end with `..Default::default()`.
impl Default for BridgeOptions {
    fn default() -> Self {
        BridgeOptions {
            topics: TopicSelection::Named(Vec::new()),
            rolie: RolieConfig::default(),
            ingest_validation: ValidationLevel::Basic,
            publish_validation: ValidationLevel::Strict,
            max_payload: crate::grid::DEFAULT_MAX_PAYLOAD,
            redaction: Redaction::new(),
            poll: Vec::new(),
            poll_csaf: Vec::new(),
            csaf_keys: Vec::new(),
            poll_allow: Vec::new(),
            poll_interval: std::time::Duration::from_secs(60),
            state_dir: std::path::PathBuf::from("poll"),
            outbox: OutboxOptions::default(),
            confirm_wait: DEFAULT_CONFIRM_WAIT,
            catch_up_page: crate::durable::CATCH_UP_PAGE,
            sinks: Vec::new(),
            rid: Vec::new(),
        }
    }
}
