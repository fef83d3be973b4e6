//! What a subscriber sees: items, retractions, purges, deletions, and
//! payloads that were refused.

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

use crate::envelope::Envelope;
use crate::vuln::PayloadType;

/// One event on a subscribed topic.
#[derive(Debug, Clone, PartialEq)]
pub enum GridEvent {
    /// A published (or updated) item: IODEF, a CSAF advisory or a CVE record.
    Item {
        /// The item and where it came from.
        envelope: Envelope,
        /// Its RFC 8727 JSON form; for CSAF and CVE the document's JSON
        /// value (the `subscribe` line's `"csaf"` / `"cve"` member).
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
    /// The topic's owner approved the pending subscription: notifications
    /// flow from now on. What the topic published before is only in its
    /// items; the durable follower fetches them and emits this event after
    /// them.
    Approved {
        /// Topic.
        topic: String,
    },
    /// The service ended the subscription (the owner refused a pending one,
    /// or removed it): no more notifications from this topic.
    Unsubscribed {
        /// Topic.
        topic: String,
    },
    /// Someone asked to subscribe to an `authorize` topic we own and
    /// follow (XEP-0060 §8.6): approve or refuse it with
    /// [`Grid::set_subscription`](crate::Grid::set_subscription) (`gridlink
    /// topic approve|refuse`).
    SubscriptionRequest {
        /// Topic.
        topic: String,
        /// Who asks.
        jid: String,
    },
    /// After a new XMPP session (server restart, unresumable outage) the
    /// subscriptions were made again. Notifications sent while the session
    /// was down are not redelivered: fetch the topics' items to catch up.
    Resubscribed {
        /// The topics subscribed again.
        topics: Vec<String>,
    },
    /// The consumer fell behind and the session dropped this many
    /// notifications rather than hold them all in memory
    /// ([`Config::event_queue`](crate::config::Config::event_queue)).
    /// Fetch the topics' items to catch up, as after `Resubscribed`; the
    /// durable follower does, and emits this event after the caught-up
    /// items.
    Lagged {
        /// The topics subscribed to.
        topics: Vec<String>,
        /// Notifications dropped (at least 1).
        dropped: u64,
    },
    /// Following every IODEF topic, topics created since the last look
    /// were found and subscribed to ([`Config::rediscover_every`](crate::config::Config::rediscover_every)).
    /// What they published before is not in the notifications: fetch their
    /// items; the durable follower does, and emits this event after the
    /// caught-up items.
    TopicsAdded {
        /// The topics just subscribed to.
        added: Vec<String>,
        /// Every topic followed now.
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
    /// Writes the event as one line of JSON text (without the newline): the
    /// same text as `to_json().to_string()`, without building (and, for an
    /// item, copying the document and its RFC 8727 form into) a `Value` first.
    pub fn write_json<W: std::io::Write>(&self, w: W) -> serde_json::Result<()> {
        serde_json::to_writer(w, self)
    }

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
                    v[json_member(&e.payload_ns)] = j.clone();
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
            GridEvent::Approved { topic } => json!({ "kind": "approved", "topic": topic }),
            GridEvent::Unsubscribed { topic } => {
                json!({ "kind": "unsubscribed", "topic": topic })
            }
            GridEvent::SubscriptionRequest { topic, jid } => {
                json!({ "kind": "subscription_request", "topic": topic, "jid": jid })
            }
            GridEvent::Resubscribed { topics } => {
                json!({ "kind": "resubscribed", "topics": topics })
            }
            GridEvent::Lagged { topics, dropped } => {
                json!({ "kind": "lagged", "topics": topics, "dropped": dropped })
            }
            GridEvent::TopicsAdded { added, topics } => {
                json!({ "kind": "topics_added", "added": added, "topics": topics })
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

/// The `subscribe` line, streamed. Items, the hot path, are written member by
/// member in the order `to_json` gives them (serde_json's maps are sorted);
/// the other events go through `to_json`.
impl Serialize for GridEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let GridEvent::Item { envelope: e, iodef } = self else {
            return self.to_json().serialize(s);
        };
        let member = json_member(&e.payload_ns);
        let mut m = s.serialize_map(None)?;
        // Sorted, as serde_json's maps are: `csaf` and `cve` come first.
        if let Some(j) = iodef.as_ref().filter(|_| member != "iodef") {
            m.serialize_entry(member, j)?;
        }
        m.serialize_entry("delayed_at", &e.delayed_at)?;
        m.serialize_entry("document", &e.document)?;
        if let Some(j) = iodef.as_ref().filter(|_| member == "iodef") {
            m.serialize_entry(member, j)?;
        }
        m.serialize_entry("item_id", &e.item_id)?;
        m.serialize_entry("kind", "item")?;
        m.serialize_entry("payload_ns", &e.payload_ns)?;
        m.serialize_entry("publisher", &e.publisher)?;
        m.serialize_entry("received_at", &e.received_at)?;
        m.serialize_entry("topic", &e.topic)?;
        m.end()
    }
}

/// The member of an item's line that holds its JSON: `csaf`, `cve`, or
/// (IODEF, and any other type) `iodef`.
fn json_member(payload_ns: &str) -> &'static str {
    match PayloadType::from_uri(payload_ns) {
        Some(t @ (PayloadType::Csaf | PayloadType::Cve)) => t.name(),
        _ => "iodef",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(iodef: Option<Value>, publisher: Option<String>) -> GridEvent {
        GridEvent::Item {
            envelope: Envelope {
                topic: "t".into(),
                item_id: "a:1".into(),
                publisher,
                received_at: DateTime::from_timestamp_nanos(1_700_000_000_123_456_789),
                delayed_at: Some(DateTime::from_timestamp_nanos(1_600_000_000_000_000_000)),
                payload_ns: crate::envelope::IODEF_V2_NS.into(),
                document: "<IODEF-Document xmlns='urn:ietf:params:xml:ns:iodef-2.0'>\"é\n</IODEF-Document>".into(),
            },
            iodef,
        }
    }

    fn csaf_envelope() -> Envelope {
        match item(None, None) {
            GridEvent::Item { envelope, .. } => envelope,
            _ => unreachable!(),
        }
    }

    /// CSAF and CVE items carry their JSON as `csaf` / `cve`.
    #[test]
    fn vuln_items_name_their_format() {
        let ev = GridEvent::Item {
            envelope: Envelope {
                payload_ns: crate::vuln::CSAF_2_0_FORMAT.into(),
                ..csaf_envelope()
            },
            iodef: Some(json!({"document": {}})),
        };
        let line = ev.to_json();
        assert_eq!(line["csaf"], json!({"document": {}}));
        assert!(line.get("iodef").is_none());
        let mut streamed = Vec::new();
        ev.write_json(&mut streamed).unwrap();
        assert!(String::from_utf8(streamed)
            .unwrap()
            .starts_with("{\"csaf\":"));
    }

    /// The streamed line is the `to_json` line, byte for byte, for items with
    /// and without JSON form and for the other events.
    #[test]
    fn streamed_line_equals_to_json() {
        let events = [
            item(
                Some(json!({"version": "2.0", "Incident": [{"purpose": "reporting"}]})),
                Some("p@x/r".into()),
            ),
            item(None, None),
            GridEvent::Item {
                envelope: Envelope {
                    payload_ns: crate::vuln::CVE_5_FORMAT.into(),
                    document: "{\"a\": 1}".into(),
                    ..csaf_envelope()
                },
                iodef: Some(json!({"a": 1})),
            },
            GridEvent::Pending { topic: "t".into() },
            GridEvent::Retract {
                topic: "t".into(),
                item_id: "i".into(),
                received_at: DateTime::from_timestamp_nanos(5),
            },
        ];
        for ev in events {
            let mut line = Vec::new();
            ev.write_json(&mut line).unwrap();
            assert_eq!(String::from_utf8(line).unwrap(), ev.to_json().to_string());
        }
    }
}
