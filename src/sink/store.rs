//! The store sink: the grid's events kept in the bridge's [`Store`], from
//! which the ROLIE repository renders its feeds. Storing is idempotent
//! (items are keyed by topic, item id and content), so a repeated event is
//! a no-op.

use super::deliver::{BoxFuture, Sink, SinkError};
use crate::grid::GridEvent;
use crate::store::Store;

/// Items stored, retractions and purges applied, new topics registered.
pub struct StoreSink {
    store: Store,
}

impl StoreSink {
    /// A sink into `store`.
    pub fn new(store: Store) -> StoreSink {
        StoreSink { store }
    }

    async fn apply(&self, ev: &GridEvent) -> Result<(), SinkError> {
        match ev {
            GridEvent::Item { envelope, .. } => {
                self.store.put(envelope.clone()).await?;
            }
            GridEvent::Retract { topic, item_id, .. } => {
                self.store.retract(topic, item_id).await?;
            }
            // The broker dropped every item (purge) or the topic itself: the
            // feed follows, leaving a tombstone per item.
            GridEvent::Purge { topic, .. } | GridEvent::Delete { topic, .. } => {
                let n = self.store.purge(topic).await?;
                tracing::info!(event = %ev.to_json(), items_removed = n, "grid event");
            }
            // Topics followed anew (after a new session, or discovered):
            // served from now on, as empty feeds until their first item.
            GridEvent::Resubscribed { topics } | GridEvent::TopicsAdded { topics, .. } => {
                for t in topics {
                    self.store.ensure_topic(t).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Sink for StoreSink {
    fn name(&self) -> &str {
        "store"
    }

    fn deliver<'a>(&'a mut self, ev: &'a GridEvent) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(self.apply(ev))
    }
}
