//! What a subscriber sees: items, retractions, purges, deletions, and
//! payloads that were refused.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::envelope::Envelope;

/// One event on a subscribed topic.
#[derive(Debug, Clone, PartialEq)]
pub enum GridEvent {
    /// A published (or updated) IODEF item.
    Item {
        /// The item and where it came from.
        envelope: Envelope,
        /// Its RFC 8727 JSON form.
        iodef: Option<Value>,
    },
    /// An item was retracted.
    Retract {
        /// Topic.
        topic: String,
        /// The retracted item.
        item_id: String,
        /// When the notification arrived.
        received_at: DateTime<Utc>,
    },
    /// Every item of the topic was purged.
    Purge {
        /// Topic.
        topic: String,
        /// When the notification arrived.
        received_at: DateTime<Utc>,
    },
    /// The topic was deleted.
    Delete {
        /// Topic.
        topic: String,
        /// When the notification arrived.
        received_at: DateTime<Utc>,
    },
    /// A payload that is not valid IODEF v2 arrived on the topic.
    Rejected {
        /// Topic.
        topic: String,
        /// The item id.
        item_id: String,
        /// The publisher, when known.
        publisher: Option<String>,
        /// Why it was refused.
        reason: String,
        /// When it arrived.
        received_at: DateTime<Utc>,
    },
    /// The subscription waits for the topic owner's approval.
    Pending {
        /// Topic.
        topic: String,
    },
    /// After a new XMPP session (server restart, unresumable outage) the
    /// subscriptions were made again. Notifications sent while the session
    /// was down are not redelivered: fetch the topics' items to catch up.
    Resubscribed {
        /// The topics subscribed again.
        topics: Vec<String>,
    },
    /// Catch-up could not prove that nothing was missed: the broker keeps
    /// only its newest items per topic, and none of those it still has had
    /// been delivered before. Items published between `last_delivered` and
    /// the oldest of the `kept` items may be lost for good; the kept ones
    /// follow as items.
    Gap {
        /// Topic.
        topic: String,
        /// How many items the broker still had (all delivered after this).
        kept: usize,
        /// When the last item of this topic was delivered before the gap.
        last_delivered: Option<DateTime<Utc>>,
        /// Explanation for the operator.
        detail: String,
    },
}

impl GridEvent {
    /// The event as one JSON object (the `subscribe` output line).
    pub fn to_json(&self) -> Value {
        match self {
            GridEvent::Item { envelope: e, iodef } => {
                let mut v = json!({
                    "kind": "item",
                    "topic": e.topic,
                    "item_id": e.item_id,
                    "publisher": e.publisher,
                    "received_at": e.received_at,
                    "delayed_at": e.delayed_at,
                    "payload_ns": e.payload_ns,
                    "document": e.document,
                });
                if let Some(j) = iodef {
                    v["iodef"] = j.clone();
                }
                v
            }
            GridEvent::Retract {
                topic,
                item_id,
                received_at,
            } => json!({
                "kind": "retract", "topic": topic, "item_id": item_id, "received_at": received_at,
            }),
            GridEvent::Purge { topic, received_at } => json!({
                "kind": "purge", "topic": topic, "received_at": received_at,
            }),
            GridEvent::Delete { topic, received_at } => json!({
                "kind": "delete", "topic": topic, "received_at": received_at,
            }),
            GridEvent::Rejected {
                topic,
                item_id,
                publisher,
                reason,
                received_at,
            } => json!({
                "kind": "rejected", "topic": topic, "item_id": item_id, "publisher": publisher,
                "reason": reason, "received_at": received_at,
            }),
            GridEvent::Pending { topic } => json!({ "kind": "pending", "topic": topic }),
            GridEvent::Resubscribed { topics } => {
                json!({ "kind": "resubscribed", "topics": topics })
            }
            GridEvent::Gap {
                topic,
                kept,
                last_delivered,
                detail,
            } => json!({
                "kind": "gap", "topic": topic, "kept": kept,
                "last_delivered": last_delivered, "detail": detail,
            }),
        }
    }
}
