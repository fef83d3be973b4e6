//! XMPP-Grid semantics against a real Prosody. Tests named `rfc8600_cNN_…`
//! prove line NN of the RFC 8600 compliance checklist
//! (shared/spec/rfc8600-xmpp-grid.md §12) that applies to a Platform.
//!
//! Lines proven elsewhere: 1, 15–17, 19–21 (STARTTLS/direct TLS, certificate
//! verification, SCRAM preferred over PLAIN, SHA-256 over SHA-1, -PLUS only
//! with binding data) in `tests/xmpp_session.rs` and the unit tests of
//! `src/xmpp/connect.rs`; 5 (XEP-0203 delay) in `src/grid/subscribe.rs`;
//! 10 and 12 with an independent client in `tests/interop_slixmpp.rs`.
//! 18 (client certificate and SASL EXTERNAL, against Prosody's
//! `mod_auth_ccert`) in `tests/sasl_external.rs`; 22 (revocation checks) and
//! 33 (key pinning) in `tests/tls_trust.rs`. 4 (RSM) is implemented but
//! Prosody does not page disco#items, so only the non-paged path runs
//! against it.

mod common;

use std::time::Duration;

use common::{fixture_bytes, grid, open_topic, prosody, subscribed, MARKED, VALID};
use gridlink::grid::{
    AccessModel, Affiliation, GridEvent, Payload, PayloadError, TopicOptions, TopicSelection,
};
use gridlink::iodef::{Redaction, ValidationLevel};
use gridlink::xmpp::Session;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::pubsub::pubsub::Create;
use tokio_xmpp::parsers::pubsub::{NodeName, PubSub};

fn payload(rel: &str) -> Payload {
    Payload::prepare(&fixture_bytes(rel), ValidationLevel::Strict, 200 * 1024).expect(rel)
}

async fn next_event(sub: &mut gridlink::grid::Subscription) -> GridEvent {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("no event within 10 s")
        .expect("subscription ended")
}

/// Creates a node without any configuration (no pubsub#type), as a foreign
/// tool would.
async fn create_untyped(s: &Session, service: &str, node: &str) {
    let req = PubSub::Create {
        create: Create {
            node: Some(NodeName(node.into())),
        },
        configure: None,
    };
    s.set(Some(service.parse().unwrap()), req.into())
        .await
        .expect("create untyped node");
}

/// Line 7: IODEF topics are recognised by pubsub#type, never by name — an
/// untyped node called "iodef-incidents" is not listed, a typed one called
/// "x" is; `--all` shows both, marked.
#[tokio::test]
async fn rfc8600_c07_topics_identified_by_pubsub_type_not_name() {
    let p = prosody();
    let g = grid(&p, "publisher").await;
    create_untyped(g.session(), &p.pubsub, "iodef-incidents").await;
    g.create_topic("x", &TopicOptions::default()).await.unwrap();
    let iodef = g.discover(false).await.unwrap();
    assert_eq!(
        iodef.iter().map(|t| t.node.as_str()).collect::<Vec<_>>(),
        ["x"]
    );
    let all = g.discover(true).await.unwrap();
    assert_eq!(all.len(), 2);
    let untyped = all.iter().find(|t| t.node == "iodef-incidents").unwrap();
    assert!(!untyped.is_iodef());
    assert_eq!(untyped.payload_type, None);
    // Following every IODEF topic subscribes to "x" alone (its owner may:
    // the default access model is a whitelist), and the subscription names
    // what it resolved (what a follower catches up).
    let sub = g
        .subscribe(TopicSelection::AllIodef, ValidationLevel::Basic)
        .await
        .unwrap();
    assert_eq!(sub.topics(), ["x"]);
}

/// Line 3: the pubsub service is found through XEP-0030 (identity
/// pubsub/service), not configured.
#[tokio::test]
async fn rfc8600_c03_pubsub_service_found_by_disco() {
    let p = prosody();
    let g = grid(&p, "subscriber").await;
    assert_eq!(g.service().to_string(), "pubsub.localhost");
}

/// Lines 8, 9 and 31: a created topic carries pubsub#type = IODEF v2,
/// persistent items, and the whitelist access model by default.
#[tokio::test]
async fn rfc8600_c08_created_topic_is_typed_and_whitelisted() {
    let p = prosody();
    let g = grid(&p, "publisher").await;
    g.create_topic(
        "incidents",
        &TopicOptions {
            title: Some("Incidents".into()),
            description: Some("IODEF incidents".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let info = g.topic_info("incidents").await.unwrap();
    assert!(info.is_iodef(), "{info:?}");
    assert_eq!(info.access_model.as_deref(), Some("whitelist"));
    assert_eq!(info.title.as_deref(), Some("Incidents"));
    assert_eq!(info.description.as_deref(), Some("IODEF incidents"));
    // Line 9: the rest of the node configuration asked for at creation, as
    // the broker reports it back: items kept, the last one not re-sent to
    // every new subscriber (catch-up fetches what it needs).
    let config = g.topic_config("incidents").await.unwrap();
    let get = |k: &str| config.get(k).map(String::as_str);
    assert!(
        matches!(get("pubsub#persist_items"), Some("1" | "true")),
        "{config:?}"
    );
    assert_eq!(
        get("pubsub#send_last_published_item"),
        Some("never"),
        "{config:?}"
    );
    assert_eq!(get("pubsub#type"), Some("urn:ietf:params:xml:ns:iodef-2.0"));
}

/// `ensure` creates a missing topic, and on an existing one reports what
/// differs instead of changing it.
#[tokio::test]
async fn ensure_creates_or_reports_differences() {
    let p = prosody();
    let g = grid(&p, "publisher").await;
    let first = g.ensure_topic("t", &TopicOptions::default()).await.unwrap();
    assert!(first.created);
    let again = g.ensure_topic("t", &TopicOptions::default()).await.unwrap();
    assert!(!again.created && again.differences.is_empty(), "{again:?}");
    let open = TopicOptions {
        access_model: AccessModel::Open,
        ..Default::default()
    };
    let diff = g.ensure_topic("t", &open).await.unwrap();
    assert!(
        diff.differences.iter().any(|d| d.contains("access model")),
        "{diff:?}"
    );
    create_untyped(g.session(), &p.pubsub, "plain").await;
    let plain = g
        .ensure_topic("plain", &TopicOptions::default())
        .await
        .unwrap();
    assert!(
        plain.differences.iter().any(|d| d.contains("pubsub#type")),
        "{plain:?}"
    );
}

/// A max_items above the server's cap is refused by Prosody; gridlink
/// retries with the server's maximum and says so.
#[tokio::test]
async fn max_items_above_cap_falls_back_to_server_max() {
    let p = prosody();
    let g = grid(&p, "publisher").await;
    let opts = TopicOptions {
        max_items: Some(1_000_000),
        ..Default::default()
    };
    let notes = g.create_topic("big", &opts).await.unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("max_items=1000000"), "{notes:?}");
    let info = g.topic_info("big").await.unwrap();
    assert!(info.is_iodef());
    let cfg = g.topic_config("big").await.unwrap();
    assert_eq!(
        cfg.get("pubsub#max_items").map(String::as_str),
        Some("max"),
        "{cfg:?}"
    );
}

/// Lines 10, 11, 12: publish as the single child of <item>; the consumer
/// subscribes, gets the item with the document intact, then the retraction.
#[tokio::test]
async fn rfc8600_c12_publish_subscribe_retract() {
    let p = prosody();
    let (publisher, _subscriber, mut sub) = subscribed(&p, "incidents").await;
    let pl = payload(VALID[1]);
    let id = publisher.publish("incidents", &pl).await.unwrap();
    assert_eq!(id, pl.item_id);
    match next_event(&mut sub).await {
        GridEvent::Item { envelope, iodef } => {
            assert_eq!(envelope.topic, "incidents");
            assert_eq!(envelope.item_id, id);
            let sent: Element = pl.xml.parse().unwrap();
            let got: Element = envelope.document.parse().unwrap();
            assert_eq!(sent, got, "document changed in transit");
            assert!(iodef.unwrap().get("Incident").is_some());
        }
        other => panic!("expected an item, got {other:?}"),
    }
    publisher.retract("incidents", &id).await.unwrap();
    match next_event(&mut sub).await {
        GridEvent::Retract { item_id, .. } => assert_eq!(item_id, id),
        other => panic!("expected a retraction, got {other:?}"),
    }
}

/// Line 34: fields filtered or omitted before publishing. Shared with
/// partners (`green`) and without e-mail addresses, what a subscriber
/// receives has neither the private Discovery, nor the victim, nor any
/// EmailTo, and is still valid IODEF with the rest intact; a redaction
/// that would leave an invalid document publishes nothing.
#[tokio::test]
async fn rfc8600_c34_fields_left_out_before_publishing() {
    let p = prosody();
    let (publisher, _subscriber, mut sub) = subscribed(&p, "incidents").await;
    let r = Redaction::new()
        .share(["green"])
        .unwrap()
        .omit("Contact/Email")
        .unwrap();
    let pl =
        Payload::prepare_redacted(&fixture_bytes(MARKED), ValidationLevel::Strict, 1 << 20, &r)
            .expect("redacted payload");
    assert_eq!(pl.omitted, 3, "{}", pl.xml);
    publisher.publish("incidents", &pl).await.unwrap();
    let GridEvent::Item { envelope, .. } = next_event(&mut sub).await else {
        panic!("expected an item");
    };
    let got = envelope.document;
    for gone in [
        "internal notes",
        "victim@example.org",
        "csirt@example.com",
        "EmailTo",
    ] {
        assert!(!got.contains(gone), "{gone} was published: {got}");
    }
    assert!(
        got.contains("Example CSIRT") && got.contains("marked-1"),
        "{got}"
    );
    let doc = gridlink::iodef::parse(got.as_bytes()).unwrap();
    assert!(doc.validate().is_empty(), "{:?}", doc.validate());

    // Left out, the creator Contact has no child: invalid, not published.
    let r = Redaction::new()
        .omit("ContactName")
        .unwrap()
        .omit("Email")
        .unwrap();
    let e = Payload::prepare_redacted(&fixture_bytes(MARKED), ValidationLevel::Strict, 1 << 20, &r)
        .unwrap_err();
    assert!(
        matches!(e, PayloadError::InvalidAfterRedaction { omitted: 3, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("Contact"), "{e}");
}

/// Line 11: the subscription is made for the subscriber's bare JID (so it
/// survives resource changes and reaches any available resource): the
/// topic owner's subscription list (XEP-0060 §8.8.1) shows
/// `subscriber@localhost`, no resource, subscribed.
#[tokio::test]
async fn rfc8600_c11_subscription_is_for_the_bare_jid() {
    let p = prosody();
    let (publisher, subscriber, _sub) = subscribed(&p, "incidents").await;
    assert!(subscriber.session().jid().resource().is_some());
    const OWNER: &str = "http://jabber.org/protocol/pubsub#owner";
    let list = Element::builder("pubsub", OWNER)
        .append(
            Element::builder("subscriptions", OWNER)
                .attr(
                    tokio_xmpp::minidom::rxml::NcName::try_from("node").unwrap(),
                    "incidents",
                )
                .build(),
        )
        .build();
    let answer = publisher
        .session()
        .get(Some(p.pubsub.parse().unwrap()), list)
        .await
        .expect("owner's subscription list")
        .expect("a payload");
    let subs: Vec<(String, String)> = answer
        .get_child("subscriptions", OWNER)
        .expect("<subscriptions/>")
        .children()
        .map(|c| {
            (
                c.attr("jid").unwrap_or_default().to_string(),
                c.attr("subscription").unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        subs,
        [("subscriber@localhost".to_string(), "subscribed".to_string())]
    );
}

/// The stream parser keeps namespaces but not prefixes; the received
/// document gets the usual ones back (`xsi:schemaLocation`, not minidom's
/// made-up `tns0:schemaLocation`), and is still the document sent.
#[tokio::test]
async fn received_documents_keep_the_usual_prefixes() {
    let p = prosody();
    let (publisher, _subscriber, mut sub) = subscribed(&p, "incidents").await;
    let pl = payload(VALID[0]);
    assert!(pl.xml.contains("xsi:schemaLocation"), "fixture changed");
    publisher.publish("incidents", &pl).await.unwrap();
    match next_event(&mut sub).await {
        GridEvent::Item { envelope, .. } => {
            let doc = &envelope.document;
            assert!(doc.contains(" xsi:schemaLocation="), "{doc}");
            assert!(!doc.contains("tns0"), "{doc}");
            let sent: Element = pl.xml.parse().unwrap();
            assert_eq!(sent, doc.parse::<Element>().unwrap());
        }
        other => panic!("expected an item, got {other:?}"),
    }
}

/// Line 11: on a whitelist topic a non-member is refused; after `allow` the
/// subscription succeeds.
#[tokio::test]
async fn rfc8600_c11_whitelist_needs_membership() {
    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    let subscriber = grid(&p, "subscriber").await;
    publisher
        .create_topic("closed", &TopicOptions::default())
        .await
        .unwrap();
    let denied = subscriber
        .subscribe(
            TopicSelection::Named(vec!["closed".into()]),
            ValidationLevel::Basic,
        )
        .await;
    assert!(
        denied.is_err(),
        "non-member subscribed to a whitelist topic"
    );
    publisher
        .set_affiliation(
            "closed",
            &"subscriber@localhost".parse().unwrap(),
            Affiliation::Member,
        )
        .await
        .unwrap();
    let subscriber = grid(&p, "subscriber").await;
    subscriber
        .subscribe(
            TopicSelection::Named(vec!["closed".into()]),
            ValidationLevel::Basic,
        )
        .await
        .expect("member may subscribe");
}

/// Republishing the same incident replaces the item (stable item id).
#[tokio::test]
async fn republish_replaces_instead_of_duplicating() {
    let p = prosody();
    let g = grid(&p, "publisher").await;
    open_topic(&g, "t").await;
    for _ in 0..3 {
        g.publish("t", &payload(VALID[0])).await.unwrap();
    }
    g.publish("t", &payload(VALID[2])).await.unwrap();
    let items = g
        .items("t", None, None, ValidationLevel::Basic)
        .await
        .unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
}

/// History: `items` returns what the topic keeps, limited by max or id.
#[tokio::test]
async fn items_retrieval_by_max_and_id() {
    let p = prosody();
    let g = grid(&p, "publisher").await;
    open_topic(&g, "t").await;
    let mut ids = Vec::new();
    for f in VALID {
        ids.push(g.publish("t", &payload(f)).await.unwrap());
    }
    assert_eq!(
        g.items("t", None, None, ValidationLevel::Basic)
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        g.items("t", Some(2), None, ValidationLevel::Basic)
            .await
            .unwrap()
            .len(),
        2
    );
    let one = g
        .items("t", None, Some(&ids[2]), ValidationLevel::Basic)
        .await
        .unwrap();
    match &one[..] {
        [GridEvent::Item { envelope, .. }] => assert_eq!(envelope.item_id, ids[2]),
        other => panic!("{other:?}"),
    }
}

/// A non-IODEF payload on an IODEF topic is reported as rejected and the
/// subscriber keeps going.
#[tokio::test]
async fn foreign_payload_is_rejected_and_stream_continues() {
    let p = prosody();
    let (publisher, _subscriber, mut sub) = subscribed(&p, "t").await;
    let foreign: Element = "<note xmlns='urn:example:not-iodef'>hi</note>"
        .parse()
        .unwrap();
    let req: Element = format!(
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='t'><item id='x'>{}</item></publish></pubsub>",
        String::from(&foreign)
    )
    .parse()
    .unwrap();
    publisher
        .session()
        .set(Some(p.pubsub.parse().unwrap()), req)
        .await
        .unwrap();
    match next_event(&mut sub).await {
        GridEvent::Rejected {
            item_id, reason, ..
        } => {
            assert_eq!(item_id, "x");
            assert!(reason.contains("not an IODEF"), "{reason}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    publisher.publish("t", &payload(VALID[0])).await.unwrap();
    assert!(matches!(next_event(&mut sub).await, GridEvent::Item { .. }));
}

/// A pubsub-looking message from someone other than the service is ignored.
#[tokio::test]
async fn spoofed_notification_is_ignored() {
    let p = prosody();
    let (publisher, _subscriber, mut sub) = subscribed(&p, "t").await;
    let doc = String::from_utf8(fixture_bytes(VALID[0])).unwrap();
    let doc = doc.trim_start_matches(|c| c != '<');
    let body = Payload::prepare(doc.as_bytes(), ValidationLevel::Basic, 1 << 20)
        .unwrap()
        .xml;
    let fake: Element = format!(
        "<message xmlns='jabber:client' to='subscriber@localhost'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='t'><item id='fake'>{body}</item></items></event></message>"
    )
    .parse()
    .unwrap();
    let msg = tokio_xmpp::parsers::message::Message::try_from(fake).unwrap();
    publisher
        .session()
        .send(tokio_xmpp::Stanza::Message(msg))
        .await
        .unwrap();
    publisher.publish("t", &payload(VALID[1])).await.unwrap();
    match next_event(&mut sub).await {
        GridEvent::Item { envelope, .. } => assert_ne!(envelope.item_id, "fake"),
        other => panic!("{other:?}"),
    }
}

/// Line 14: after a server restart the subscriber gets a new session,
/// resubscribes by itself, and receives what is published afterwards.
#[tokio::test]
async fn rfc8600_c14_resubscribes_after_new_session() {
    let mut p = prosody();
    let (publisher, subscriber, mut sub) = subscribed(&p, "t").await;
    p.start_again().unwrap();
    // Wait until both sessions are online again.
    for g in [&publisher, &subscriber] {
        let mut st = g.session().watch_state();
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                st.changed().await.unwrap();
                if *st.borrow() == gridlink::xmpp::SessionState::Online {
                    break;
                }
            }
        })
        .await
        .expect("back online");
    }
    // The resubscription runs in the background; publish until it lands.
    let pl = payload(VALID[3]);
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            publisher.publish("t", &pl).await.unwrap();
            if let Ok(Some(GridEvent::Item { envelope, .. })) =
                tokio::time::timeout(Duration::from_millis(500), sub.next()).await
            {
                return envelope;
            }
        }
    })
    .await
    .expect("no item after restart");
    assert_eq!(got.item_id, pl.item_id);
}

/// Oversized and non-IODEF inputs are refused before anything is sent.
#[test]
fn payload_checks_before_sending() {
    let big = vec![b' '; 300 * 1024];
    assert!(matches!(
        Payload::prepare(&big, ValidationLevel::Strict, 200 * 1024),
        Err(PayloadError::TooLarge { .. })
    ));
    let v1 = fixture_bytes("iodef/v1/rfc5070-sec7.1-worm.xml");
    let e = Payload::prepare(&v1, ValidationLevel::Strict, 1 << 20).unwrap_err();
    assert!(
        e.to_string().to_lowercase().contains("v1") || e.to_string().contains("1.0"),
        "{e}"
    );
    let doctype =
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><IODEF-Document xmlns='urn:ietf:params:xml:ns:iodef-2.0'/>";
    assert!(Payload::prepare(doctype, ValidationLevel::Off, 1 << 20).is_err());
    let json = fixture_bytes("iodef/json/rfc8727-sec4.1-fig1-minimal.json");
    let p = Payload::prepare(&json, ValidationLevel::Strict, 1 << 20).expect("JSON IODEF");
    assert!(p.xml.starts_with("<IODEF-Document"), "{}", &p.xml[..60]);
}

/// 200 documents pipelined through one session all get confirmed.
#[tokio::test]
async fn pipelined_publishes_are_all_confirmed() {
    use futures::StreamExt;
    let p = prosody();
    let g = grid(&p, "publisher").await;
    open_topic(&g, "t").await;
    let base = String::from_utf8(fixture_bytes(VALID[0])).unwrap();
    let payloads: Vec<Payload> = (0..200)
        .map(|i| {
            let doc = base.replace("492382", &format!("9{i:05}"));
            Payload::prepare(doc.as_bytes(), ValidationLevel::Basic, 1 << 20).unwrap()
        })
        .collect();
    let ok = futures::stream::iter(payloads.iter())
        .map(|pl| g.publish("t", pl))
        .buffer_unordered(32)
        .filter(|r| futures::future::ready(r.is_ok()))
        .count()
        .await;
    assert_eq!(ok, 200);
    let items = g
        .items("t", None, None, ValidationLevel::Off)
        .await
        .unwrap();
    assert_eq!(items.len(), 200);
}
