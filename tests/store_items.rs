//! The item store: idempotence by (topic, item id, content), replacement,
//! retraction, stable cursors, schema versioning and restart.

use chrono::{TimeZone, Utc};
use gridlink::envelope::Envelope;
use gridlink::store::{content_hash, Cursor, PutOutcome, Store, SCHEMA_VERSION};

fn env(topic: &str, id: &str, doc: &str) -> Envelope {
    Envelope {
        topic: topic.into(),
        item_id: id.into(),
        publisher: Some("a@grid.example/x".into()),
        received_at: Utc.timestamp_nanos(1_790_000_000_123_456_789),
        delayed_at: Some(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
        payload_ns: "urn:ietf:params:xml:ns:iodef-2.0".into(),
        document: doc.into(),
    }
}

/// Same content again is a no-op; the envelope round-trips exactly.
#[tokio::test]
async fn same_content_is_a_no_op() {
    let s = Store::open_in_memory().unwrap();
    let e = env("t", "1", "<a/>");
    let first = s.put(e.clone()).await.unwrap();
    assert!(matches!(first, PutOutcome::Inserted { .. }));
    let again = s.put(e.clone()).await.unwrap();
    assert_eq!(again, PutOutcome::Unchanged { seq: first.seq() });
    let got = s.get("t", "1").await.unwrap().unwrap();
    assert_eq!(got.envelope, e);
    assert_eq!(got.content_hash, content_hash("<a/>"));
    assert_eq!(s.topic("t").await.unwrap().unwrap().items, 1);
}

/// New content for a known id replaces it, keeps `published`, and moves
/// the item to the top of the feed.
#[tokio::test]
async fn new_content_replaces_and_moves_to_top() {
    let s = Store::open_in_memory().unwrap();
    let one = s.put(env("t", "1", "<a/>")).await.unwrap();
    s.put(env("t", "2", "<b/>")).await.unwrap();
    let before = s.get("t", "1").await.unwrap().unwrap();
    let updated_topic_before = s.topic("t").await.unwrap().unwrap().updated;
    let re = s.put(env("t", "1", "<a>v2</a>")).await.unwrap();
    let PutOutcome::Replaced { seq, previous } = re else {
        panic!("{re:?}")
    };
    assert_eq!(previous, one.seq());
    assert!(seq > previous);
    let after = s.get("t", "1").await.unwrap().unwrap();
    assert_eq!(after.envelope.document, "<a>v2</a>");
    assert_eq!(after.published, before.published);
    assert!(after.updated >= before.updated);
    let page = s.page("t", Cursor::Newest, 10).await.unwrap();
    let ids: Vec<_> = page
        .items
        .iter()
        .map(|i| i.envelope.item_id.as_str())
        .collect();
    assert_eq!(ids, ["1", "2"]);
    assert!(s.topic("t").await.unwrap().unwrap().updated >= updated_topic_before);
}

/// Retract deletes; a second retract reports nothing to delete.
#[tokio::test]
async fn retract_deletes() {
    let s = Store::open_in_memory().unwrap();
    s.put(env("t", "1", "<a/>")).await.unwrap();
    assert!(s.retract("t", "1").await.unwrap());
    assert!(!s.retract("t", "1").await.unwrap());
    assert!(s.get("t", "1").await.unwrap().is_none());
    let c = s.counters()["t"];
    assert_eq!((c.inserted, c.retracted), (1, 1));
}

/// Topics are separate namespaces of item ids.
#[tokio::test]
async fn topics_are_separate() {
    let s = Store::open_in_memory().unwrap();
    s.put(env("a", "1", "<a/>")).await.unwrap();
    s.put(env("b", "1", "<a/>")).await.unwrap();
    assert_eq!(
        s.item_keys("a").await.unwrap(),
        vec![("1".to_owned(), content_hash("<a/>"))]
    );
    let topics = s.topics().await.unwrap();
    assert_eq!(
        topics.iter().map(|t| t.topic.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(
        s.page("a", Cursor::Newest, 10).await.unwrap().items.len(),
        1
    );
}

/// Walking `Before` cursors visits every item exactly once, newest first,
/// even while new items arrive; `After` walks back up.
#[tokio::test]
async fn cursors_are_stable_while_items_arrive() {
    let s = Store::open_in_memory().unwrap();
    for i in 0..25 {
        s.put(env("t", &format!("i{i}"), &format!("<a n='{i}'/>")))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = Cursor::Newest;
    loop {
        let page = s.page("t", cursor, 4).await.unwrap();
        seen.extend(page.items.iter().map(|i| i.envelope.item_id.clone()));
        // A newcomer must not shift what the walker sees next.
        s.put(env("t", &format!("new{}", seen.len()), "<n/>"))
            .await
            .unwrap();
        match (page.has_older, page.items.last()) {
            (true, Some(last)) => cursor = Cursor::Before(last.seq),
            _ => break,
        }
    }
    let expected: Vec<String> = (0..25).rev().map(|i| format!("i{i}")).collect();
    assert_eq!(seen, expected);
    // The oldest page, then previous pages back up.
    let last = s.page("t", Cursor::After(0), 4).await.unwrap();
    assert!(last.has_newer && !last.has_older);
    assert_eq!(last.items.last().unwrap().envelope.item_id, "i0");
    assert_eq!(last.items.first().unwrap().envelope.item_id, "i3");
    let prev = s
        .page("t", Cursor::After(last.items[0].seq), 4)
        .await
        .unwrap();
    assert_eq!(prev.items.last().unwrap().envelope.item_id, "i4");
    assert!(prev.has_older && prev.has_newer);
}

/// Reopening the file gives back the same items, topics and cursors, and
/// the schema version is recorded; a newer schema is refused.
#[tokio::test]
async fn restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let (items, topic) = {
        let s = Store::open(&path).unwrap();
        for i in 0..5 {
            s.put(env("t", &format!("{i}"), &format!("<a n='{i}'/>")))
                .await
                .unwrap();
        }
        s.retract("t", "4").await.unwrap();
        (
            s.page("t", Cursor::Newest, 10).await.unwrap(),
            s.topic("t").await.unwrap(),
        )
    };
    let s = Store::open(&path).unwrap();
    assert_eq!(s.page("t", Cursor::Newest, 10).await.unwrap(), items);
    assert_eq!(s.topic("t").await.unwrap(), topic);
    // AUTOINCREMENT: the retracted newest seq is never handed out again.
    let next = s.put(env("t", "5", "<z/>")).await.unwrap();
    assert!(next.seq() > items.items[0].seq + 1);
    drop(s);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    conn.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
        .unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}

/// A retract leaves a tombstone; storing the id again removes it; only the
/// newest TOMBSTONES_KEPT per topic are kept.
#[tokio::test]
async fn retract_leaves_a_pruned_tombstone() {
    use gridlink::store::TOMBSTONES_KEPT;
    let s = Store::open_in_memory().unwrap();
    s.put(env("t", "1", "<a/>")).await.unwrap();
    s.retract("t", "1").await.unwrap();
    let t = s.tombstones("t").await.unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].item_id, "1");
    s.put(env("t", "1", "<a/>")).await.unwrap();
    assert!(s.tombstones("t").await.unwrap().is_empty());
    for i in 0..TOMBSTONES_KEPT + 5 {
        let id = format!("x{i}");
        s.put(env("t", &id, "<a/>")).await.unwrap();
        s.retract("t", &id).await.unwrap();
    }
    let t = s.tombstones("t").await.unwrap();
    assert_eq!(t.len() as i64, TOMBSTONES_KEPT);
    assert!(t.iter().all(|x| x.item_id != "x0"), "the oldest are pruned");
    assert!(s.tombstones("other").await.unwrap().is_empty());
}

/// The outbox keeps sending order, refuses entries beyond its bound with
/// `OutboxFull`, survives a reopen, and forgets only what was removed.
#[tokio::test]
async fn outbox_order_bound_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let s = Store::open(&path).unwrap();
    let a = s.outbox_push("t", "1", "<a/>", 3).await.unwrap();
    let b = s.outbox_push("t", "2", "<b/>", 3).await.unwrap();
    let c = s.outbox_push("u", "1", "<c/>", 3).await.unwrap();
    assert!(a < b && b < c);
    match s.outbox_push("t", "3", "<d/>", 3).await {
        Err(gridlink::store::StoreError::OutboxFull { max: 3 }) => {}
        other => panic!("expected OutboxFull, got {other:?}"),
    }
    s.outbox_failed(a, "no answer").await.unwrap();
    drop(s);
    let s = Store::open(&path).unwrap();
    let head = s.outbox_head(10).await.unwrap();
    let ids: Vec<_> = head
        .iter()
        .map(|e| (e.topic.as_str(), e.item_id.as_str()))
        .collect();
    assert_eq!(ids, [("t", "1"), ("t", "2"), ("u", "1")]);
    assert_eq!(head[0].attempts, 1);
    assert_eq!(head[0].last_error.as_deref(), Some("no answer"));
    s.outbox_remove(vec![a, c]).await.unwrap();
    assert_eq!(s.outbox_len().await.unwrap(), 1);
    assert_eq!(s.outbox_head(10).await.unwrap()[0].document, "<b/>");
}

/// Delivery records: per topic, the newest content wins, and forgetting
/// one item or a whole topic works.
#[tokio::test]
async fn delivery_cursor_records_and_forgets() {
    let s = Store::open_in_memory().unwrap();
    assert!(s.delivered("t").await.unwrap().is_empty());
    assert_eq!(s.last_delivered("t").await.unwrap(), None);
    s.mark_delivered("t", "1", "h1").await.unwrap();
    s.mark_delivered("t", "1", "h2").await.unwrap();
    s.mark_delivered("t", "2", "h3").await.unwrap();
    s.mark_delivered("u", "1", "h4").await.unwrap();
    let t = s.delivered("t").await.unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t["1"], "h2");
    assert!(s.last_delivered("t").await.unwrap().is_some());
    s.forget_delivered("t", Some("1")).await.unwrap();
    assert_eq!(s.delivered("t").await.unwrap().len(), 1);
    s.forget_delivered("t", None).await.unwrap();
    assert!(s.delivered("t").await.unwrap().is_empty());
    assert_eq!(s.delivered("u").await.unwrap().len(), 1);
}
