//! The follower's paged catch-up (`src/durable/follow.rs`) against a real
//! Prosody: everything the consumer has not seen arrives once, in publication
//! order, and no catch-up answer holds more than a page — whether the cursor
//! is new, a few items behind, far behind, behind what the broker still
//! keeps, or left by a catch-up that did not finish.

mod common;

use std::time::Duration;

use common::{grid, open_topic, prosody};
use gridlink::durable::Follower;
use gridlink::grid::{Grid, GridEvent, Payload, TopicOptions, TopicSelection};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::Prosody;
use gridlink::store::Store;

const TOPIC: &str = "incidents";
/// A small page, so that a few dozen items take several pages.
const PAGE: u32 = 5;

fn id(n: usize) -> String {
    format!("csirt.example.com:{n}")
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(id).collect()
}

async fn publish(g: &Grid, range: std::ops::Range<usize>) {
    publish_docs(g, range, common::incident).await
}

/// `common::incident` with an `xsi:schemaLocation`, as the RFC examples have:
/// a prefix the XMPP stream does not keep.
fn incident_with_schema_location(n: usize) -> String {
    common::incident(n).replacen(
        "version='2.00'>",
        "version='2.00' xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' \
         xsi:schemaLocation='urn:ietf:params:xml:ns:iodef-2.0 iodef-2.0.xsd'>",
        1,
    )
}

async fn publish_docs(g: &Grid, range: std::ops::Range<usize>, doc: fn(usize) -> String) {
    for n in range {
        let p = Payload::prepare(doc(n).as_bytes(), ValidationLevel::Strict, 64 * 1024)
            .expect("test document");
        g.publish(TOPIC, &p).await.expect("publish");
    }
}

/// A follower on a session of its own (one subscriber per session), as a
/// restarted process would have.
async fn follow(p: &Prosody, store: &Store) -> Follower {
    let g = grid(p, "subscriber").await;
    Follower::start_paged(
        &g,
        TopicSelection::Named(vec![TOPIC.into()]),
        ValidationLevel::Basic,
        store.clone(),
        PAGE,
    )
    .await
    .expect("follow")
}

async fn next(f: &mut Follower) -> GridEvent {
    tokio::time::timeout(Duration::from_secs(20), f.next())
        .await
        .expect("no event within 20 s")
        .expect("session ended")
}

/// The next `n` events as item ids (a gap as `GAP <kept>`), each confirmed
/// to the follower when `confirm` says so.
async fn take(f: &mut Follower, n: usize, confirm: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let ev = next(f).await;
        let name = match &ev {
            GridEvent::Item { envelope, .. } => envelope.item_id.clone(),
            GridEvent::Gap { kept, .. } => format!("GAP {kept}"),
            other => panic!("unexpected event {other:?}"),
        };
        if confirm(&name) {
            f.delivered(&ev).await.expect("record delivery");
        }
        out.push(name);
    }
    out
}

fn all(_: &str) -> bool {
    true
}

/// After the backlog, a live item is the very next event (nothing repeated
/// or left over in between).
async fn then_live(publisher: &Grid, f: &mut Follower, n: usize) {
    publish(publisher, n..n + 1).await;
    assert_eq!(take(f, 1, all).await, [id(n)], "the live item comes next");
}

/// A Prosody with the open topic and its publisher session.
async fn topic() -> (Prosody, Grid) {
    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, TOPIC).await;
    (p, publisher)
}

/// The item ids `for_each_item` hands over, stopping after `limit`.
async fn listed(reader: &Grid, limit: usize) -> (usize, Vec<String>) {
    let mut got = Vec::new();
    let n = reader
        .for_each_item(TOPIC, PAGE, ValidationLevel::Basic, |ev| {
            if let GridEvent::Item { envelope, .. } = ev {
                got.push(envelope.item_id);
            }
            got.len() < limit
        })
        .await
        .expect("list");
    (n, got)
}

fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path().join("state.db")).expect("store")
}

/// A new cursor on a topic of 23 items: all 23 in order, in pages of at most 5.
#[tokio::test]
async fn new_cursor_gets_everything_in_order_a_page_at_a_time() {
    let (p, publisher) = topic().await;
    publish(&publisher, 0..23).await;
    let dir = tempfile::tempdir().unwrap();
    let mut f = follow(&p, &store(&dir)).await;
    assert_eq!(take(&mut f, 23, all).await, ids(0..23));
    assert!(
        f.largest_fetch() <= PAGE as usize,
        "an answer held {} items (page {PAGE})",
        f.largest_fetch()
    );
    then_live(&publisher, &mut f, 23).await;
}

/// A restart a few items behind (the newest page reaches back to delivered
/// items) and one far behind (it does not: ids are listed and fetched)
/// both get exactly what was missed, in order, without a gap.
#[tokio::test]
async fn restart_behind_gets_exactly_what_was_missed() {
    let (p, publisher) = topic().await;
    publish(&publisher, 0..4).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut f = follow(&p, &store(&dir)).await;
        assert_eq!(take(&mut f, 4, all).await, ids(0..4));
    }
    // A few behind.
    publish(&publisher, 4..7).await;
    {
        let mut f = follow(&p, &store(&dir)).await;
        assert_eq!(take(&mut f, 3, all).await, ids(4..7));
        then_live(&publisher, &mut f, 7).await;
    }
    // Far behind: 17 new items, more than three pages.
    publish(&publisher, 8..25).await;
    let mut f = follow(&p, &store(&dir)).await;
    assert_eq!(take(&mut f, 17, all).await, ids(8..25));
    assert!(f.largest_fetch() <= PAGE as usize);
    then_live(&publisher, &mut f, 25).await;
}

/// The same restart a few items behind with documents whose prefixes the
/// stream drops (`xsi:schemaLocation`): the text the follower compares with
/// its cursor is written as the delivered text was, so the delivered items
/// in the newest page are not handed over again, and the catch-up takes the
/// newest page and the id listing, nothing more.
#[tokio::test]
async fn restart_behind_with_prefixed_documents_takes_the_page_and_the_listing() {
    let (p, publisher) = topic().await;
    publish_docs(&publisher, 0..4, incident_with_schema_location).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut f = follow(&p, &store(&dir)).await;
        assert_eq!(take(&mut f, 4, all).await, ids(0..4));
    }
    publish_docs(&publisher, 4..7, incident_with_schema_location).await;
    let mut f = follow(&p, &store(&dir)).await;
    assert_eq!(take(&mut f, 3, all).await, ids(4..7));
    assert_eq!(
        f.catch_up_requests(),
        2,
        "the newest page and the id listing; the older ids were all delivered"
    );
}

/// A delivered item published again unchanged moves to the newest end of
/// the topic (a publisher replaying its outbox after a broker restart does
/// this: publishes that went out on the new session land before the retried
/// ones of the old). The newest page then holds a delivered item although
/// items older than the page were never delivered: they are fetched all the
/// same, in order, and the replayed ones are not delivered twice.
#[tokio::test]
async fn republished_delivered_items_do_not_hide_older_undelivered_ones() {
    let (p, publisher) = topic().await;
    publish(&publisher, 0..4).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut f = follow(&p, &store(&dir)).await;
        assert_eq!(take(&mut f, 4, all).await, ids(0..4));
    }
    // Six never delivered (more than a page), then 2 and 3 again unchanged,
    // then three new: the newest page of 5 is `2 3 10 11 12`.
    publish(&publisher, 4..10).await;
    publish(&publisher, 2..4).await;
    publish(&publisher, 10..13).await;
    let mut f = follow(&p, &store(&dir)).await;
    assert_eq!(take(&mut f, 9, all).await, ids(4..13));
    assert!(f.largest_fetch() <= PAGE as usize);
    then_live(&publisher, &mut f, 13).await;
}

/// When the broker discarded items that were never delivered, the paged
/// catch-up says so before handing over what it keeps.
#[tokio::test]
async fn gap_when_the_broker_discarded_undelivered_items() {
    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    let opts = TopicOptions {
        access_model: gridlink::grid::AccessModel::Open,
        max_items: Some(8),
        ..Default::default()
    };
    publisher.create_topic(TOPIC, &opts).await.expect("topic");
    publish(&publisher, 0..3).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut f = follow(&p, &store(&dir)).await;
        assert_eq!(take(&mut f, 3, all).await, ids(0..3));
    }
    publish(&publisher, 3..23).await;
    let mut f = follow(&p, &store(&dir)).await;
    let mut expected = vec!["GAP 8".to_string()];
    expected.extend(ids(15..23));
    assert_eq!(take(&mut f, 9, all).await, expected);
    assert!(f.largest_fetch() <= PAGE as usize);
    then_live(&publisher, &mut f, 23).await;
}

/// Deliveries out of the broker's order (here: only the newest item was
/// confirmed, as when live items were delivered after a failed catch-up)
/// with the topic marked unfinished: the next catch-up does not stop at the
/// delivered newest item but fetches everything and hands over the rest,
/// then clears the mark.
#[tokio::test]
async fn unfinished_catch_up_is_redone_in_full() {
    let (p, publisher) = topic().await;
    publish(&publisher, 0..12).await;
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    {
        let mut f = follow(&p, &st).await;
        let newest = id(11);
        assert_eq!(take(&mut f, 12, |i| i == newest).await, ids(0..12));
    }
    st.catch_up_unfinished(TOPIC).await.unwrap();
    let mut f = follow(&p, &st).await;
    assert_eq!(take(&mut f, 11, all).await, ids(0..11));
    assert!(!st.is_catch_up_unfinished(TOPIC).await.unwrap());
    then_live(&publisher, &mut f, 12).await;
}

/// `Grid::for_each_item` (what `gridlink items` uses): everything a topic
/// keeps, oldest first, a page at a time; it stops when asked to.
#[tokio::test]
async fn listing_a_topic_page_by_page() {
    let (p, publisher) = topic().await;
    publish(&publisher, 0..23).await;
    let reader = grid(&p, "subscriber").await;
    assert_eq!(listed(&reader, usize::MAX).await, (23, ids(0..23)));
    assert_eq!(listed(&reader, 7).await.1, ids(0..7));
}

/// `next()` raced against timers (a `select!` in the consumer) and dropped
/// midway, again and again, while it is fetching pages: nothing is lost or
/// repeated, the interrupted step just runs again.
#[tokio::test]
async fn next_dropped_midway_loses_nothing() {
    let (p, publisher) = topic().await;
    publish(&publisher, 0..23).await;
    let dir = tempfile::tempdir().unwrap();
    let mut f = follow(&p, &store(&dir)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    // Short limits interrupt fetches; every fourth is long enough to finish.
    let limits = [1u64, 2, 5, 2000].map(Duration::from_millis);
    let (mut got, mut dropped) = (Vec::new(), 0usize);
    for limit in limits.iter().cycle() {
        if got.len() == 23 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after 60 s and {dropped} interruptions only {got:?}"
        );
        match tokio::time::timeout(*limit, f.next()).await {
            Ok(Some(ev)) => {
                if let GridEvent::Item { envelope, .. } = &ev {
                    got.push(envelope.item_id.clone());
                }
                f.delivered(&ev).await.expect("record delivery");
            }
            Ok(None) => panic!("session ended"),
            Err(_) => dropped += 1,
        }
    }
    assert_eq!(got, ids(0..23));
    assert!(
        dropped > 0,
        "nothing was interrupted: the test proved nothing"
    );
    then_live(&publisher, &mut f, 23).await;
}

/// A follower whose consumer stalls while the broker keeps notifying: the
/// session keeps at most `event_queue` notifications waiting, drops the
/// rest and says so (`Lagged`), and the follower catches the topic up from
/// its items — every item arrives once, in publication order, and the
/// `Lagged` comes after them. (With an unbounded queue nothing is dropped
/// and no `Lagged` comes; without the catch-up the dropped items are
/// missing.)
#[tokio::test]
async fn stalled_consumer_drops_notifications_and_catches_up() {
    const N: usize = 150;
    let (p, publisher) = topic().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = p.client_config("subscriber", "subscriber-pw");
    cfg.event_queue = 4;
    let g = Grid::connect(cfg).await.expect("subscriber joins");
    let mut f = Follower::start_paged(
        &g,
        TopicSelection::Named(vec![TOPIC.into()]),
        ValidationLevel::Basic,
        store(&dir),
        50,
    )
    .await
    .expect("follow");
    // Nobody reads the follower while the items are published: beyond the
    // subscription's hand-off (64) and the session's 4, notifications drop.
    publish(&publisher, 0..N).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut items = Vec::new();
    let mut dropped = 0;
    while items.len() < N {
        let ev = next(&mut f).await;
        match &ev {
            GridEvent::Item { envelope, .. } => items.push(envelope.item_id.clone()),
            GridEvent::Lagged { dropped: d, topics } => {
                assert_eq!(topics, &[TOPIC.to_string()]);
                dropped += d;
            }
            other => panic!("unexpected event {other:?}"),
        }
        f.delivered(&ev).await.expect("record delivery");
    }
    assert_eq!(items, ids(0..N), "every item once, in order");
    // The Lagged is passed on after the caught-up items.
    if dropped == 0 {
        match next(&mut f).await {
            GridEvent::Lagged { dropped: d, .. } => dropped = d,
            other => panic!("expected the Lagged after the items, got {other:?}"),
        }
    }
    assert!(dropped > 0, "nothing was dropped: the queue is not bounded");
    then_live(&publisher, &mut f, N).await;
}

/// Following every IODEF topic, a topic created later is found without a
/// new session (here looked for every second): what it published before
/// the look comes from its items, then `TopicsAdded`, then its live items.
#[tokio::test]
async fn all_iodef_follower_finds_topics_created_later() {
    let (p, publisher) = topic().await;
    publish(&publisher, 0..1).await;
    let mut cfg = p.client_config("subscriber", "subscriber-pw");
    cfg.rediscover_every = Some(Duration::from_secs(1));
    let g = Grid::connect(cfg).await.expect("subscriber joins");
    let dir = tempfile::tempdir().unwrap();
    let mut f = Follower::start(
        &g,
        TopicSelection::AllIodef,
        ValidationLevel::Basic,
        store(&dir),
    )
    .await
    .expect("follow");
    assert_eq!(f.topics(), [TOPIC]);
    assert_eq!(take(&mut f, 1, all).await, ids(0..1));

    open_topic(&publisher, "later").await;
    for n in 1..3 {
        let doc = Payload::prepare(
            common::incident(n).as_bytes(),
            ValidationLevel::Strict,
            64 * 1024,
        )
        .expect("test document");
        publisher.publish("later", &doc).await.expect("publish");
    }
    // Both items once, in order, and the announcement: after them when the
    // look came after the publications (from the topic's items), before
    // them when it came in between (then they come live).
    let mut items = Vec::new();
    let mut announced = false;
    for _ in 0..3 {
        match next(&mut f).await {
            GridEvent::TopicsAdded { added, topics } => {
                assert_eq!(added, ["later"]);
                assert_eq!(topics, [TOPIC, "later"]);
                announced = true;
            }
            GridEvent::Item { envelope, .. } => items.push(envelope.item_id),
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(announced, "no TopicsAdded");
    assert_eq!(items, ids(1..3));
    assert_eq!(f.topics(), [TOPIC, "later"]);
    let doc = Payload::prepare(
        common::incident(3).as_bytes(),
        ValidationLevel::Strict,
        64 * 1024,
    )
    .expect("test document");
    publisher.publish("later", &doc).await.expect("publish");
    assert_eq!(take(&mut f, 1, all).await, ids(3..4), "then live");
}

/// A restart with the cursor in the middle of a few hundred items (issue
/// 22): the rest arrives once each, in publication order, while the older
/// pages are asked for several at a time (`grid/inflight.rs`) and the id
/// listing goes out with the newest page. The request count is what a
/// page-at-a-time catch-up makes (pipelining adds none); the peak of
/// requests outstanding at once is what it changes (1 before).
#[tokio::test]
async fn pipelined_catch_up_from_the_middle_delivers_each_item_once_in_order() {
    const N: usize = 240;
    const MID: usize = 100;
    const PAGE: u32 = 10;
    let (p, publisher) = topic().await;
    publish(&publisher, 0..N).await;
    let dir = tempfile::tempdir().unwrap();
    let follow = || async {
        let g = grid(&p, "subscriber").await;
        Follower::start_paged(
            &g,
            TopicSelection::Named(vec![TOPIC.into()]),
            ValidationLevel::Basic,
            store(&dir),
            PAGE,
        )
        .await
        .expect("follow")
    };
    {
        let mut f = follow().await;
        assert_eq!(take(&mut f, MID, all).await, ids(0..MID));
        assert!(
            f.catch_up_peak_in_flight() >= 2,
            "a new cursor: the listing goes out with the newest page"
        );
    }
    let mut f = follow().await;
    assert_eq!(take(&mut f, N - MID, all).await, ids(MID..N));
    assert!(f.largest_fetch() <= PAGE as usize);
    // The newest page and the listing, then the 130 older ids not yet
    // delivered (100..230) in pages of 10.
    assert_eq!(f.catch_up_requests(), 2 + 13);
    assert!(
        f.catch_up_peak_in_flight() >= 3,
        "pages asked for one at a time (peak {})",
        f.catch_up_peak_in_flight()
    );
    then_live(&publisher, &mut f, N).await;
}
