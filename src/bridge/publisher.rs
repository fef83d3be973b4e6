//! The grid publisher: where every source's documents go (AtomPub POSTs,
//! polled entries). Validate, redact, queue in the durable outbox, wait for
//! the broker's confirmation, then store — so the `Location` of a 201
//! resolves at once.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::observe::Counters;
use crate::durable::{Outbox, OutboxError};
use crate::envelope::Envelope;
use crate::grid::{Grid, GridError, Payload, PayloadError};
use crate::iodef::{Redaction, ValidationLevel};
use crate::rolie::{BoxFuture, PublishBody, PublishError, Published, Publisher};
use crate::store::Store;

/// Publishes what the repository receives: validate, publish, wait for the
/// broker, then store (so the `Location` of the 201 resolves at once).
///
/// Publishes go through the durable outbox: once a POST is answered 201 or
/// 202 the document is on disk and reaches the broker even if the bridge
/// dies first.
#[derive(Clone)]
pub(super) struct GridPublisher {
    pub(super) grid: Grid,
    pub(super) store: Store,
    pub(super) outbox: Outbox,
    pub(super) topics: Arc<Mutex<Vec<String>>>,
    pub(super) validation: ValidationLevel,
    pub(super) max_payload: usize,
    pub(super) redaction: Arc<Redaction>,
    pub(super) confirm_wait: std::time::Duration,
    pub(super) counters: Arc<Counters>,
}

fn unavailable_or_refused(e: GridError) -> PublishError {
    if e.condition().as_deref() == Some("item-not-found") {
        PublishError::UnknownTopic
    } else if e.is_transient() {
        PublishError::Unavailable(e.to_string())
    } else {
        PublishError::Refused(e.to_string())
    }
}

impl GridPublisher {
    fn bridged(&self, topic: &str) -> bool {
        self.topics
            .lock()
            .map(|t| t.iter().any(|x| x == topic))
            .unwrap_or(false)
    }

    /// The same publisher serving other topics (the pollers' targets).
    pub(super) fn for_topics(&self, topics: Vec<String>) -> GridPublisher {
        GridPublisher {
            topics: Arc::new(Mutex::new(topics)),
            ..self.clone()
        }
    }

    async fn do_publish(&self, topic: &str, body: PublishBody) -> Result<Published, PublishError> {
        if !self.bridged(topic) {
            return Err(PublishError::UnknownTopic);
        }
        let bytes = match &body {
            PublishBody::Xml(s) | PublishBody::Json(s) => s.as_bytes(),
        };
        let payload =
            Payload::prepare_redacted(bytes, self.validation, self.max_payload, &self.redaction)
                .map_err(|e| match e {
                    PayloadError::Invalid(p) => PublishError::Invalid(p),
                    other => PublishError::Invalid(vec![other.to_string()]),
                })?;
        let started = Instant::now();
        let ticket = self
            .outbox
            .accept(topic, &payload)
            .await
            .map_err(|e| PublishError::Unavailable(e.to_string()))?;
        let id = match ticket.confirmed(self.confirm_wait).await {
            Ok(id) => id,
            Err(OutboxError::Pending) => {
                return Ok(Published {
                    item_id: payload.item_id,
                    confirmed: false,
                })
            }
            Err(e) => return Err(PublishError::Refused(e.to_string())),
        };
        self.counters
            .publish_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.counters.publishes.fetch_add(1, Ordering::Relaxed);
        Counters::bump(&self.counters.items_out, topic);
        let env = Envelope {
            topic: topic.to_string(),
            item_id: id.clone(),
            publisher: Some(self.grid.session().bare_jid().to_string()),
            received_at: chrono::Utc::now(),
            delayed_at: None,
            payload_ns: payload.payload_ns().to_string(),
            document: payload.document(),
        };
        if let Err(e) = self.store.put(env).await {
            // Published but not yet stored: the notification will store it.
            tracing::warn!(topic, item = %id, error = %e, "storing a published item failed");
        }
        Ok(id.into())
    }
}

impl Publisher for GridPublisher {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        body: PublishBody,
    ) -> BoxFuture<'a, Result<Published, PublishError>> {
        Box::pin(self.do_publish(topic, body))
    }

    fn retract<'a>(
        &'a self,
        topic: &'a str,
        item_id: &'a str,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            if !self.bridged(topic) {
                return Err(PublishError::UnknownTopic);
            }
            // The topic is known here, so the broker's item-not-found is
            // about the item.
            self.grid.retract(topic, item_id).await.map_err(|e| {
                match unavailable_or_refused(e) {
                    PublishError::UnknownTopic => PublishError::NotFound,
                    other => other,
                }
            })?;
            let _ = self.store.retract(topic, item_id).await;
            Ok(())
        })
    }
}
