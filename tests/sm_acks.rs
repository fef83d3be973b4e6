//! XEP-0198 ack requests are batched (issue 22, deliverable 3).
//!
//! tokio-xmpp 6.0.0 sent an `<r xmlns='urn:xmpp:sm:3'/>` after almost every
//! write batch: under a publisher's load, nearly one per stanza, each costing
//! the broker ~20–30 µs. The vendored copy (vendor/tokio-xmpp/GRIDLINK-PATCH.md)
//! asks every 32 stanzas, or once the stream has sent nothing for 250 ms
//! while stanzas are unasked. These tests
//! count the requests in the lab Prosody's debug log (mod_smacks logs
//! "Received ack request" for each) while one gridlink session publishes, and
//! check that the acks still come (the timer) when the publisher goes quiet,
//! and that stanzas left unacked by the batching are resent on resumption.
//! `faults.rs` (proxy cut, broker `kill -9`) runs on the same patched crate.

mod common;

use std::time::{Duration, Instant};

use futures::StreamExt;
use gridlink::grid::{Grid, GridEvent, Payload};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::{Prosody, TcpProxy};

/// What mod_smacks logs (debug) for every `<r/>` it receives.
const ACK_REQUEST_LINE: &str = "Received ack request";

/// At most this many `<r/>` per stanza published. 6.0.0: 0.53 here (1.0
/// one after the other, 0.29–0.9 pipelined); patched, 1/32 plus one per
/// pause of 250 ms (measured 0.04).
const MAX_RATIO: f64 = 0.1;

fn ack_requests(p: &Prosody) -> usize {
    p.log().matches(ACK_REQUEST_LINE).count()
}

fn payload(n: usize) -> Payload {
    Payload::prepare(
        common::incident(n).as_bytes(),
        ValidationLevel::Basic,
        1 << 20,
    )
    .expect("incident fixture")
}

/// Waits (up to `limit`) until the log holds more than `before` requests.
async fn wait_for_request(p: &Prosody, before: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let now = ack_requests(p);
        if now > before || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One publisher, 100 items one after the other and then 200 with 16 in
/// flight: the `<r/>` count per item stays under [`MAX_RATIO`] (6.0.0:
/// about one per item in both shapes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_asks_for_acks_in_batches() {
    let p = common::prosody();
    let publisher = common::grid(&p, "publisher").await;
    common::open_topic(&publisher, "incidents").await;
    // Let the setup's requests (if any) land before counting.
    tokio::time::sleep(Duration::from_millis(400)).await;

    let before = ack_requests(&p);
    let started = Instant::now();
    for n in 0..100 {
        publisher
            .publish("incidents", &payload(n))
            .await
            .expect("publish");
    }
    let t1 = started.elapsed();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let sequential = ack_requests(&p) - before;

    let before = ack_requests(&p);
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(100..300)
        .map(|n| {
            let publisher = &publisher;
            async move { publisher.publish("incidents", &payload(n)).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok), "every publish answered");
    let t2 = started.elapsed();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pipelined = ack_requests(&p) - before;
    publisher.close().await;

    let (r1, r2) = (sequential as f64 / 100.0, pipelined as f64 / 200.0);
    println!(
        "<r/> per stanza: sequential {sequential}/100 = {r1:.3} (in {t1:?}), \
         16 in flight {pipelined}/200 = {r2:.3} (in {t2:?})"
    );
    // Over both shapes together: a stall of the loaded machine over 250 ms
    // costs one timer-driven request, which one shape alone would feel more.
    let ratio = (sequential + pipelined) as f64 / 300.0;
    assert!(
        ratio <= MAX_RATIO,
        "too many XEP-0198 ack requests per stanza: {ratio:.3} (sequential {r1:.3}, \
         pipelined {r2:.3}; limit {MAX_RATIO}); is vendor/tokio-xmpp patched in?"
    );
}

/// A lone stanza is still asked for soon: the 250 ms idle timer sends the
/// `<r/>` the count does not (so a short burst is not left unacked until the
/// soft timeout, tens of seconds later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lone_stanza_is_asked_for_within_a_second() {
    let p = common::prosody();
    let publisher = common::grid(&p, "publisher").await;
    common::open_topic(&publisher, "incidents").await;
    tokio::time::sleep(Duration::from_millis(400)).await;

    let before = ack_requests(&p);
    publisher
        .publish("incidents", &payload(1))
        .await
        .expect("publish");
    let started = Instant::now();
    let after = wait_for_request(&p, before, Duration::from_secs(5)).await;
    publisher.close().await;
    assert!(
        after > before && started.elapsed() < Duration::from_secs(1),
        "no <r/> within a second of a lone publish ({:?})",
        started.elapsed()
    );
}

/// Resumption stays loss-free with batched acks: 20 publishes (fewer than
/// 32, so only the timer would ask for their ack) go into a stalled proxy,
/// the connection is cut with their bytes, and the session resumes through
/// the restored proxy. The resend queue still held them: every publish is
/// answered (a new session would have failed them) and the topic keeps
/// each item once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacked_publishes_are_resent_on_resumption() {
    let p = common::prosody();
    let owner = common::grid(&p, "publisher").await;
    common::open_topic(&owner, "incidents").await;
    owner.close().await;
    let target = format!("127.0.0.1:{}", p.c2s_port)
        .parse()
        .expect("address");
    let mut proxy = TcpProxy::start(target).await.expect("proxy");
    let mut config = p.client_config("publisher", "publisher-pw");
    config.server = Some(("127.0.0.1".into(), proxy.port));
    let publisher = Grid::connect(config).await.expect("join through the proxy");

    proxy.stall();
    let sending = publisher.clone();
    let publishing = tokio::spawn(async move {
        futures::stream::iter(1000..1020)
            .map(|n| {
                let g = sending.clone();
                async move { g.publish("incidents", &payload(n)).await }
            })
            .buffer_unordered(20)
            .collect::<Vec<_>>()
            .await
    });
    // Written into the stall (and the idle timer's <r/> after them), then
    // lost with the connection.
    tokio::time::sleep(Duration::from_millis(600)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.restore().await.expect("restore");
    let results = tokio::time::timeout(Duration::from_secs(60), publishing)
        .await
        .expect("publishes answered within 60 s")
        .expect("publishing task");
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "publishes lost across resumption: {failed:?}"
    );
    assert!(
        p.log().contains("mod_smacks resuming existing session"),
        "the session was not resumed (XEP-0198), so the resend queue was not used"
    );

    let items = publisher
        .items("incidents", None, None, ValidationLevel::Basic)
        .await
        .expect("items");
    let mut ids: Vec<_> = items
        .iter()
        .filter_map(|e| match e {
            GridEvent::Item { envelope, .. } => Some(envelope.item_id.clone()),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!((items.len(), ids.len()), (20, 20), "{ids:?}");
    publisher.close().await;
}
