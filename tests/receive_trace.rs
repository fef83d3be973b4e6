//! Receive-path profiling (issue 22): a live item passes every hop of the
//! receive path with a trace event of target `gridlink::receive`, in path
//! order, each carrying what ties it to the previous one (the message id
//! from the driver to the parse, the item id from the parse to the
//! consumer) — what `RUST_LOG=gridlink::receive=trace` and
//! `gridlink-bench --hops` read. Against a real Prosody.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{grid, open_topic, prosody};
use gridlink::durable::Follower;
use gridlink::grid::{GridEvent, Payload, TopicSelection};
use gridlink::iodef::ValidationLevel;
use gridlink::store::Store;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// (hop, msg, item, when) of one `gridlink::receive` event.
type Event = (String, String, String, Instant);
type Events = Arc<Mutex<Vec<Event>>>;

#[derive(Default)]
struct Fields {
    hop: String,
    msg: String,
    item: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "hop" {
            self.hop = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let v = format!("{value:?}");
        match field.name() {
            "hop" => self.hop = v.trim_matches('"').to_string(),
            "msg" => self.msg = v,
            "item" => self.item = v,
            _ => {}
        }
    }
}

struct Recorder(Events);

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "gridlink::receive" {
            let mut f = Fields::default();
            event.record(&mut f);
            if let Ok(mut v) = self.0.lock() {
                v.push((f.hop, f.msg, f.item, Instant::now()));
            }
        }
    }
}

#[tokio::test]
async fn a_live_item_passes_every_hop_in_order() {
    let events: Events = Arc::default();
    let subscriber = tracing_subscriber::registry().with(Recorder(events.clone()));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, "incidents").await;
    let reader = grid(&p, "subscriber").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("state.db")).expect("store");
    let mut f = Follower::start(
        &reader,
        TopicSelection::Named(vec!["incidents".into()]),
        ValidationLevel::Basic,
        store,
    )
    .await
    .expect("follow");
    let doc = Payload::prepare(
        common::incident(7).as_bytes(),
        ValidationLevel::Strict,
        64 * 1024,
    )
    .expect("test document");
    let id = publisher.publish("incidents", &doc).await.expect("publish");
    let ev = tokio::time::timeout(Duration::from_secs(20), f.next())
        .await
        .expect("no item within 20 s")
        .expect("session ended");
    assert!(matches!(&ev, GridEvent::Item { envelope, .. } if envelope.item_id == id));

    let v = events.lock().expect("events").clone();
    let hops: Vec<(&str, &str)> = v.iter().map(|e| (e.0.as_str(), e.1.as_str())).collect();
    let find = |hop: &str, key: &dyn Fn(&Event) -> bool| {
        v.iter()
            .position(|e| e.0 == hop && key(e))
            .unwrap_or_else(|| panic!("no {hop:?} event for item {id} among {hops:?}"))
    };
    // The item id ties the parse to the follower and the consumer, the
    // message id the parse to the driver and the subscription task.
    let parsed = find("parsed", &|e| e.2 == id);
    let msg = v[parsed].1.clone();
    assert!(msg.starts_with("Some("), "no message id: {:?}", v[parsed]);
    let path = [
        find("driver", &|e| e.1 == msg),
        find("subscription", &|e| e.1 == msg),
        parsed,
        find("follower", &|e| e.2 == id),
        find("consumer", &|e| e.3 >= v[parsed].3),
    ];
    assert!(
        path.windows(2)
            .all(|w| w[0] < w[1] && v[w[0]].3 <= v[w[1]].3),
        "hops out of order: {path:?} in {hops:?}"
    );
}
