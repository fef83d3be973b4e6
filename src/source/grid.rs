//! The grid as a source of events: a live subscription, or a follower with
//! a persistent delivery cursor that catches up after restarts and new
//! sessions.

use crate::durable::Follower;
use crate::grid::{GridEvent, Subscription};
use crate::store::StoreError;

/// The XMPP follow: where the sinks' events come from.
pub enum GridSource {
    /// Only what is published while running (`--no-cursor`).
    Live(Subscription),
    /// Catch-up first, then live; deliveries recorded in a cursor.
    Follow(Box<Follower>),
}

impl GridSource {
    /// The next event; `None` once the session has closed.
    pub async fn next(&mut self) -> Option<GridEvent> {
        match self {
            GridSource::Live(s) => s.next().await,
            GridSource::Follow(f) => f.next().await,
        }
    }

    /// Records that every sink has handled `ev` (a no-op without a cursor).
    pub async fn acknowledge(&self, ev: &GridEvent) -> Result<(), StoreError> {
        match self {
            GridSource::Live(_) => Ok(()),
            GridSource::Follow(f) => f.delivered(ev).await,
        }
    }

    /// Whether everything the topics kept has been handed out, so that the
    /// next event waits for a new publication (always, when live only).
    pub async fn caught_up(&mut self) -> bool {
        match self {
            GridSource::Live(_) => true,
            GridSource::Follow(f) => f.caught_up().await,
        }
    }

    /// The topics followed now.
    pub fn topics(&self) -> Vec<String> {
        match self {
            GridSource::Live(s) => s.topics().to_vec(),
            GridSource::Follow(f) => f.topics().to_vec(),
        }
    }
}
