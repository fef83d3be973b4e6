//! An IODEF item's RFC 8727 JSON is built only for consumers that ask for
//! it (issue 22, deliverable 2): a subscription of
//! `Grid::without_item_json()` (what the bridge uses when its store is its
//! only sink) carries the document and no JSON; the default one both — on
//! the live path and on catch-up.

mod common;

use std::time::Duration;

use gridlink::grid::{GridEvent, Payload, TopicSelection};
use gridlink::iodef::ValidationLevel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_only_for_subscriptions_that_ask_for_it() {
    let p = common::prosody();
    let publisher = common::grid(&p, "publisher").await;
    common::open_topic(&publisher, "incidents").await;
    let topics = || TopicSelection::Named(vec!["incidents".into()]);
    let level = ValidationLevel::Basic;
    let mut with_json = publisher
        .subscribe(topics(), level)
        .await
        .expect("subscribe");
    let mut without = common::grid(&p, "subscriber")
        .await
        .without_item_json()
        .subscribe(topics(), level)
        .await
        .expect("subscribe");

    let doc = common::incident(7);
    let payload = Payload::prepare(doc.as_bytes(), level, 1 << 20).expect("incident");
    publisher
        .publish("incidents", &payload)
        .await
        .expect("publish");

    for (sub, json) in [(&mut with_json, true), (&mut without, false)] {
        let ev = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("a notification within 10 s")
            .expect("subscription open");
        match ev {
            GridEvent::Item { envelope, iodef } => {
                assert!(envelope.document.contains("csirt.example.com"));
                assert_eq!(iodef.is_some(), json, "{iodef:?}");
            }
            other => panic!("{other:?}"),
        }
    }
    publisher.close().await;
}

/// The catch-up path makes the same choice as the live path: items a
/// `Follower` fetches from the topic (published before it started) carry
/// JSON only when its grid asks for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_builds_json_only_when_asked_for() {
    use gridlink::durable::Follower;
    use gridlink::store::Store;

    let p = common::prosody();
    let publisher = common::grid(&p, "publisher").await;
    common::open_topic(&publisher, "incidents").await;
    let level = ValidationLevel::Basic;
    let doc = common::incident(8);
    let payload = Payload::prepare(doc.as_bytes(), level, 1 << 20).expect("incident");
    publisher
        .publish("incidents", &payload)
        .await
        .expect("publish");

    let dir = tempfile::tempdir().unwrap();
    for (n, json) in [(0, true), (1, false)] {
        let mut g = common::grid(&p, "subscriber").await;
        if !json {
            g = g.without_item_json();
        }
        let store = Store::open(dir.path().join(format!("state-{n}.db"))).expect("store");
        let mut f = Follower::start(
            &g,
            TopicSelection::Named(vec!["incidents".into()]),
            level,
            store,
        )
        .await
        .expect("follow");
        let ev = tokio::time::timeout(Duration::from_secs(10), f.next())
            .await
            .expect("the kept item within 10 s")
            .expect("session open");
        match ev {
            GridEvent::Item { envelope, iodef } => {
                assert!(envelope.document.contains("csirt.example.com"));
                assert_eq!(iodef.is_some(), json, "{iodef:?}");
            }
            other => panic!("{other:?}"),
        }
        g.close().await;
    }
    publisher.close().await;
}
