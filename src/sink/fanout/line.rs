//! An event's JSON line read back into a [`GridEvent`]: the journal keeps
//! events as the lines `subscribe` prints (`GridEvent::write_json`), and
//! the sinks reading it want the events again.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::envelope::Envelope;
use crate::grid::GridEvent;
use crate::store::{content_hash, JournalKey};

/// What `ev` changes on the grid, for journaling it once however many
/// bridge replicas hear it ([`JournalKey`]); `None` for events about one
/// replica's own session.
pub fn journal_key(ev: &GridEvent) -> Option<JournalKey> {
    let key = |topic: &str, item_id: &str, mark: String| {
        Some(JournalKey {
            topic: topic.to_owned(),
            item_id: item_id.to_owned(),
            mark,
        })
    };
    match ev {
        GridEvent::Item { envelope: e, .. } => key(&e.topic, &e.item_id, content_hash(&e.document)),
        GridEvent::Rejected { topic, item_id, .. } => key(topic, item_id, "rejected".into()),
        GridEvent::Retract { topic, item_id, .. } => key(topic, item_id, "retracted".into()),
        GridEvent::Purge { topic, .. } => key(topic, "", "purged".into()),
        GridEvent::Delete { topic, .. } => key(topic, "", "deleted".into()),
        _ => None,
    }
}

/// The event a line (from [`GridEvent::write_json`]) describes; `None` for
/// a line that is not one.
pub fn from_line(line: &str) -> Option<GridEvent> {
    let mut v: Value = serde_json::from_str(line).ok()?;
    let o = v.as_object_mut()?;
    let s = |o: &serde_json::Map<String, Value>, k: &str| -> Option<String> {
        o.get(k)?.as_str().map(str::to_owned)
    };
    let time = |o: &serde_json::Map<String, Value>, k: &str| -> Option<DateTime<Utc>> {
        serde_json::from_value(o.get(k)?.clone()).ok()
    };
    let strings = |o: &serde_json::Map<String, Value>, k: &str| -> Option<Vec<String>> {
        serde_json::from_value(o.get(k)?.clone()).ok()
    };
    let topic = s(o, "topic");
    Some(match o.get("kind")?.as_str()? {
        "item" => {
            let iodef = o.remove("iodef");
            GridEvent::Item {
                envelope: Envelope {
                    topic: topic?,
                    item_id: s(o, "item_id")?,
                    publisher: s(o, "publisher"),
                    received_at: time(o, "received_at")?,
                    delayed_at: time(o, "delayed_at"),
                    payload_ns: s(o, "payload_ns")?,
                    document: s(o, "document")?,
                },
                iodef,
            }
        }
        "retract" => GridEvent::Retract {
            topic: topic?,
            item_id: s(o, "item_id")?,
            received_at: time(o, "received_at")?,
        },
        "purge" => GridEvent::Purge {
            topic: topic?,
            received_at: time(o, "received_at")?,
        },
        "delete" => GridEvent::Delete {
            topic: topic?,
            received_at: time(o, "received_at")?,
        },
        "rejected" => GridEvent::Rejected {
            topic: topic?,
            item_id: s(o, "item_id")?,
            publisher: s(o, "publisher"),
            reason: s(o, "reason")?,
            received_at: time(o, "received_at")?,
        },
        "pending" => GridEvent::Pending { topic: topic? },
        "approved" => GridEvent::Approved { topic: topic? },
        "unsubscribed" => GridEvent::Unsubscribed { topic: topic? },
        "subscription_request" => GridEvent::SubscriptionRequest {
            topic: topic?,
            jid: s(o, "jid")?,
        },
        "resubscribed" => GridEvent::Resubscribed {
            topics: strings(o, "topics")?,
        },
        "lagged" => GridEvent::Lagged {
            topics: strings(o, "topics")?,
            dropped: o.get("dropped")?.as_u64()?,
        },
        "topics_added" => GridEvent::TopicsAdded {
            added: strings(o, "added")?,
            topics: strings(o, "topics")?,
        },
        "gap" => GridEvent::Gap {
            topic: topic?,
            kept: o.get("kept")?.as_u64()? as usize,
            last_delivered: time(o, "last_delivered"),
            detail: s(o, "detail")?,
        },
        _ => return None,
    })
}

/// The line of an event (what [`from_line`] reads).
pub fn to_line(ev: &GridEvent) -> String {
    let mut out = Vec::with_capacity(512);
    // Writing to a Vec fails only for a map with non-string keys, which
    // events do not have; `to_json` is the fallback all the same.
    match ev.write_json(&mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| ev.to_json().to_string()),
        Err(_) => ev.to_json().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every kind of event survives the round trip through its line.
    #[test]
    fn every_event_round_trips() {
        let t = DateTime::from_timestamp_nanos(1_700_000_000_123_456_789);
        let events = vec![
            GridEvent::Item {
                envelope: Envelope {
                    topic: "t".into(),
                    item_id: "a:1".into(),
                    publisher: Some("p@x/r".into()),
                    received_at: t,
                    delayed_at: Some(t),
                    payload_ns: crate::envelope::IODEF_V2_NS.into(),
                    document: "<IODEF-Document/>\n\"é".into(),
                },
                iodef: Some(json!({"version": "2.0"})),
            },
            GridEvent::Retract {
                topic: "t".into(),
                item_id: "i".into(),
                received_at: t,
            },
            GridEvent::Purge {
                topic: "t".into(),
                received_at: t,
            },
            GridEvent::Delete {
                topic: "t".into(),
                received_at: t,
            },
            GridEvent::Rejected {
                topic: "t".into(),
                item_id: "i".into(),
                publisher: None,
                reason: "bad".into(),
                received_at: t,
            },
            GridEvent::Pending { topic: "t".into() },
            GridEvent::Approved { topic: "t".into() },
            GridEvent::Unsubscribed { topic: "t".into() },
            GridEvent::SubscriptionRequest {
                topic: "t".into(),
                jid: "a@b".into(),
            },
            GridEvent::Resubscribed {
                topics: vec!["t".into()],
            },
            GridEvent::Lagged {
                topics: vec!["t".into()],
                dropped: 3,
            },
            GridEvent::TopicsAdded {
                added: vec!["u".into()],
                topics: vec!["t".into(), "u".into()],
            },
            GridEvent::Gap {
                topic: "t".into(),
                kept: 2,
                last_delivered: None,
                detail: "d".into(),
            },
        ];
        for ev in events {
            assert_eq!(from_line(&to_line(&ev)).as_ref(), Some(&ev), "{ev:?}");
        }
        assert!(from_line("{\"kind\":\"unknown\"}").is_none());
        assert!(from_line("not json").is_none());
    }
}
