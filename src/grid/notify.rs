//! Incoming pubsub notifications → [`GridEvent`]s: items (each payload
//! checked as IODEF v2, or as CSAF/CVE JSON in an XEP-0335 container), retractions, purges, deletions, the owner's
//! decisions on our subscriptions and, for topics we own, requests to
//! subscribe; only from our service, only for the topics followed.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType};
use tokio_xmpp::parsers::message::Message;

use super::discover::field;
use super::{ns, GridEvent};
use crate::envelope::{Envelope, IODEF_V2_NS};
use crate::iodef::{self, ValidationLevel};
use crate::vuln::VulnDocument;

/// The largest JSON document accepted in a notification: what a stanza
/// can carry (Prosody refuses stanzas over 256 KiB by default).
const MAX_JSON_ITEM: usize = 256 * 1024;

/// Converts one incoming message into events. Messages that are not pubsub
/// notifications from our service, or are about other topics, give nothing:
/// anyone can send us a `<message/>`, so the sender is checked.
///
/// The message is consumed: its payload trees move into the events instead
/// of being copied (a notification carries a whole IODEF document). IODEF
/// items get their RFC 8727 JSON only with `item_json`.
pub(crate) fn notification(
    m: Message,
    service: &Jid,
    topics: &BTreeSet<String>,
    level: ValidationLevel,
    item_json: bool,
) -> Vec<GridEvent> {
    if m.from.as_ref() != Some(service) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let delayed_at = m
        .payloads
        .iter()
        .find(|p| p.is("delay", ns::DELAY))
        .and_then(|d| d.attr("stamp"))
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc));
    let now = Utc::now();
    if let Some(ev) = m
        .payloads
        .iter()
        .find_map(|p| subscription_request(p, topics))
    {
        out.push(ev);
    }
    // Read by hand rather than converted to xmpp-parsers' `pubsub::event::Event`:
    // that conversion replays the whole element as XML events and builds the
    // payload tree again (a second copy of every document per notification,
    // ~10 % of a subscriber's CPU per item in the issue-7 profile). The
    // element is taken apart instead, each payload moved into its event.
    for mut event in m
        .payloads
        .into_iter()
        .filter(|p| p.is("event", ns::PUBSUB_EVENT))
    {
        for mut child in event.take_contents_as_children() {
            let Some(topic) = child.attr("node").filter(|t| topics.contains(*t)) else {
                continue;
            };
            let topic = topic.to_string();
            match child.name() {
                "items" if child.ns() == ns::PUBSUB_EVENT => {
                    for mut item in child.take_contents_as_children() {
                        if item.is("item", ns::PUBSUB_EVENT) {
                            let item_id = item.attr("id").unwrap_or_default().to_string();
                            // As xmpp-parsers did: only a well-formed JID counts.
                            let publisher = item
                                .attr("publisher")
                                .and_then(|j| j.parse::<Jid>().ok())
                                .map(|j| j.to_string());
                            let payload = ns::take_payload(&mut item);
                            let at = (now, delayed_at);
                            out.push(item_event_with(
                                &topic, item_id, publisher, payload, at, level, item_json,
                            ));
                        } else if item.is("retract", ns::PUBSUB_EVENT) {
                            out.push(GridEvent::Retract {
                                topic: topic.clone(),
                                item_id: item.attr("id").unwrap_or_default().to_string(),
                                received_at: now,
                            });
                        }
                    }
                }
                "purge" if child.ns() == ns::PUBSUB_EVENT => out.push(GridEvent::Purge {
                    topic,
                    received_at: now,
                }),
                "delete" if child.ns() == ns::PUBSUB_EVENT => out.push(GridEvent::Delete {
                    topic,
                    received_at: now,
                }),
                // XEP-0060 §8.6/§8.8: the owner decided on our subscription.
                "subscription" if child.ns() == ns::PUBSUB_EVENT => {
                    match child.attr("subscription") {
                        Some("subscribed") => out.push(GridEvent::Approved { topic }),
                        Some("none") => out.push(GridEvent::Unsubscribed { topic }),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// XEP-0060 §8.6: the form a service sends a topic's owner when someone
/// asks to subscribe to an `authorize` topic (FORM_TYPE
/// `pubsub#subscribe_authorization`). A form missing the node or the
/// subscriber gives nothing.
fn subscription_request(form: &Element, topics: &BTreeSet<String>) -> Option<GridEvent> {
    // Only data forms are converted (every other payload would be copied).
    if !form.is("x", ns::DATA_FORMS) {
        return None;
    }
    let form = DataForm::try_from(form.clone()).ok()?;
    if form.type_ != DataFormType::Form || form.form_type() != Some(ns::SUBSCRIBE_AUTHORIZATION) {
        return None;
    }
    let value = |var: &str| field(&form, var).map(|v| v.trim().to_string());
    let topic = value("pubsub#node").filter(|t| topics.contains(t))?;
    let jid = value("pubsub#subscriber_jid").filter(|j| !j.is_empty())?;
    Some(GridEvent::SubscriptionRequest { topic, jid })
}

/// Fuzzing entry point: `items` (the children of a notification's
/// `<items node='t'/>`: `<item/>`s and `<retract/>`s) from the service, read
/// at strict validation. Returns the number of events.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn fuzz_notification(items: &str) -> usize {
    let xml = format!(
        "<message xmlns='jabber:client' from='pubsub.localhost'>\
         <event xmlns='{}'><items node='t'>{items}</items></event></message>",
        ns::PUBSUB_EVENT
    );
    let Ok(element) = xml.parse::<Element>() else {
        return 0;
    };
    let Ok(m) = Message::try_from(element) else {
        return 0;
    };
    let Ok(service) = "pubsub.localhost".parse::<Jid>() else {
        return 0;
    };
    let topics = BTreeSet::from(["t".to_string()]);
    notification(m, &service, &topics, ValidationLevel::Strict, true).len()
}

/// Checks one item's payload and wraps it: an IODEF v2 document, a CSAF
/// advisory or a CVE record (in an XEP-0335 container) becomes an
/// [`GridEvent::Item`] (an IODEF item with its RFC 8727 JSON only with
/// `item_json`: the bridge without other sinks than its store discards it);
/// anything else a [`GridEvent::Rejected`].
pub(crate) fn item_event_with(
    topic: &str,
    item_id: String,
    publisher: Option<String>,
    payload: Option<Element>,
    (received_at, delayed_at): (DateTime<Utc>, Option<DateTime<Utc>>),
    level: ValidationLevel,
    item_json: bool,
) -> GridEvent {
    let reject = |reason: String| {
        tracing::warn!(topic, item_id = %item_id, %reason, "rejected item");
        GridEvent::Rejected {
            topic: topic.to_string(),
            item_id: item_id.clone(),
            publisher: publisher.clone(),
            reason,
            received_at,
        }
    };
    let Some(payload) = payload else {
        return reject("notification without payload".into());
    };
    if crate::vuln::is_container(&payload) {
        // A CSAF advisory or CVE record: checked as the publisher's side
        // checks it (`Off` only parses), carried on as the JSON text.
        let doc = crate::vuln::unwrap_container(&payload)
            .and_then(|text| VulnDocument::parse(text.as_bytes(), MAX_JSON_ITEM, level));
        return match doc {
            Err(e) => reject(format!("refused JSON payload: {e}")),
            Ok(doc) => GridEvent::Item {
                envelope: Envelope {
                    topic: topic.to_string(),
                    item_id,
                    publisher,
                    received_at,
                    delayed_at,
                    payload_ns: doc.kind.uri().to_string(),
                    document: doc.text,
                },
                iodef: Some(doc.value),
            },
        };
    }
    if payload.ns() != IODEF_V2_NS || payload.name() != "IODEF-Document" {
        return reject(format!(
            "payload is {{{}}}{}, not an IODEF v2 IODEF-Document",
            payload.ns(),
            payload.name()
        ));
    }
    let document = String::from(&payload);
    match iodef::parse(document.as_bytes()) {
        Err(e) => reject(format!("unreadable IODEF: {e}")),
        Ok(doc) => {
            let problems = doc.check(level);
            if let Some(first) = problems.first() {
                return reject(format!(
                    "invalid IODEF ({} problems; first: {first})",
                    problems.len()
                ));
            }
            GridEvent::Item {
                envelope: Envelope {
                    topic: topic.to_string(),
                    item_id,
                    publisher,
                    received_at,
                    delayed_at,
                    payload_ns: IODEF_V2_NS.to_string(),
                    document,
                },
                iodef: item_json.then(|| doc.to_json()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "<IODEF-Document xmlns='urn:ietf:params:xml:ns:iodef-2.0' version='2.00'><Incident purpose='reporting'><IncidentID name='csirt.example.com'>1</IncidentID><GenerationTime>2015-07-18T09:00:00-05:00</GenerationTime><Contact role='creator' type='organization'><Email><EmailTo>a@b.example</EmailTo></Email></Contact></Incident></IODEF-Document>";

    fn message(from: &str, extra: &str) -> Message {
        let el: Element = format!(
            "<message xmlns='jabber:client' from='{from}' to='s@localhost'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='t'><item id='i1'>{DOC}</item></items></event>{extra}</message>"
        )
        .parse()
        .unwrap();
        Message::try_from(el).unwrap()
    }

    /// RFC 8600 checklist line 5: a XEP-0203 delay stamp on a late
    /// notification is kept as `delayed_at`.
    #[test]
    fn rfc8600_c05_delay_stamp_is_kept() {
        let service: Jid = "pubsub.localhost".parse().unwrap();
        let topics: BTreeSet<String> = ["t".to_string()].into();
        let m = message(
            "pubsub.localhost",
            "<delay xmlns='urn:xmpp:delay' from='pubsub.localhost' stamp='2026-11-22T10:00:00Z'/>",
        );
        match &notification(m, &service, &topics, ValidationLevel::Basic, true)[..] {
            [GridEvent::Item { envelope, .. }] => assert_eq!(
                envelope.delayed_at.map(|d| d.to_rfc3339()),
                Some("2026-11-22T10:00:00+00:00".to_string())
            ),
            other => panic!("{other:?}"),
        }
        let undelayed = message("pubsub.localhost", "");
        match &notification(undelayed, &service, &topics, ValidationLevel::Basic, true)[..] {
            [GridEvent::Item { envelope, .. }] => assert_eq!(envelope.delayed_at, None),
            other => panic!("{other:?}"),
        }
    }

    /// Issue 22: an IODEF item's RFC 8727 JSON is built only when asked
    /// for; the document is carried either way.
    #[test]
    fn item_json_only_when_asked_for() {
        let service: Jid = "pubsub.localhost".parse().unwrap();
        let topics: BTreeSet<String> = ["t".to_string()].into();
        let level = ValidationLevel::Basic;
        for json in [true, false] {
            let m = message("pubsub.localhost", "");
            match &notification(m, &service, &topics, level, json)[..] {
                [GridEvent::Item { envelope, iodef }] => {
                    assert_eq!(iodef.is_some(), json);
                    assert!(envelope.document.contains("csirt.example.com"));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    /// Notifications from another sender or about other topics give nothing.
    #[test]
    fn foreign_sender_and_topic_ignored() {
        let service: Jid = "pubsub.localhost".parse().unwrap();
        let topics: BTreeSet<String> = ["t".to_string()].into();
        assert!(notification(
            message("mallory@localhost", ""),
            &service,
            &topics,
            ValidationLevel::Basic,
            true,
        )
        .is_empty());
        let other: BTreeSet<String> = ["u".to_string()].into();
        assert!(notification(
            message("pubsub.localhost", ""),
            &service,
            &other,
            ValidationLevel::Basic,
            true,
        )
        .is_empty());
    }

    /// XEP-0060 §8.6/§8.8: the owner's decision on our subscription, as
    /// ejabberd sends it, becomes `Approved` or `Unsubscribed`; from anyone
    /// but the service, nothing.
    #[test]
    fn subscription_decisions() {
        let service: Jid = "pubsub.localhost".parse().unwrap();
        let topics: BTreeSet<String> = ["t".to_string()].into();
        let decision = |from: &str, state: &str| {
            let el: Element = format!(
                "<message xmlns='jabber:client' from='{from}' to='s@localhost'><event xmlns='http://jabber.org/protocol/pubsub#event'><subscription jid='s@localhost' node='t' subscription='{state}'/></event></message>"
            )
            .parse()
            .unwrap();
            let m = Message::try_from(el).unwrap();
            notification(m, &service, &topics, ValidationLevel::Basic, true)
        };
        assert_eq!(
            decision("pubsub.localhost", "subscribed"),
            [GridEvent::Approved { topic: "t".into() }]
        );
        assert_eq!(
            decision("pubsub.localhost", "none"),
            [GridEvent::Unsubscribed { topic: "t".into() }]
        );
        assert!(decision("pubsub.localhost", "pending").is_empty());
        assert!(decision("mallory@localhost", "subscribed").is_empty());
    }

    /// XEP-0060 §8.6: the authorization form a service sends the owner
    /// (here exactly as ejabberd 23.01 sends it) becomes a
    /// `SubscriptionRequest`; not from another sender, not for a topic not
    /// followed, not for another form.
    #[test]
    fn subscription_requests_to_an_owner() {
        let service: Jid = "pubsub.localhost".parse().unwrap();
        let topics: BTreeSet<String> = ["t".to_string()].into();
        let request = |from: &str, node: &str, form_type: &str| {
            let el: Element = format!(
                "<message xmlns='jabber:client' from='{from}' to='publisher@localhost'><x xmlns='jabber:x:data' type='form'><title>PubSub subscriber request</title><instructions>Choose whether to approve this entity's subscription.</instructions><field type='hidden' var='FORM_TYPE'><value>{form_type}</value></field><field label='Node ID' type='text-single' var='pubsub#node'><required/><value>{node}</value></field><field label='Subscriber Address' type='jid-single' var='pubsub#subscriber_jid'><required/><value>subscriber@localhost</value></field><field label='Allow this Jabber ID to subscribe to this pubsub node?' type='boolean' var='pubsub#allow'><required/><value>0</value></field></x></message>"
            )
            .parse()
            .unwrap();
            notification(
                Message::try_from(el).unwrap(),
                &service,
                &topics,
                ValidationLevel::Basic,
                true,
            )
        };
        let form = "http://jabber.org/protocol/pubsub#subscribe_authorization";
        assert_eq!(
            request("pubsub.localhost", "t", form),
            [GridEvent::SubscriptionRequest {
                topic: "t".into(),
                jid: "subscriber@localhost".into()
            }]
        );
        assert!(request("mallory@localhost", "t", form).is_empty());
        assert!(request("pubsub.localhost", "u", form).is_empty());
        assert!(request("pubsub.localhost", "t", "urn:example:other").is_empty());
    }
}
