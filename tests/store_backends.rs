//! One store suite, run on both backends: the embedded SQLite file and a
//! real PostgreSQL 15 (`common::postgres`). Every case gets a fresh store
//! (a new file, a new database) and may reopen it (a restart). The cases
//! after the shared ones need several handles on one PostgreSQL database:
//! what bridge replicas rely on.

mod common;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use gridlink::envelope::Envelope;
use gridlink::store::{
    content_hash, Cursor, JournalKey, PgOptions, PutOutcome, Store, StoreError, TOMBSTONES_KEPT,
};

/// Where a case's store lives; `open` again is a restart.
#[derive(Clone)]
enum Loc {
    File(PathBuf),
    Pg(String),
}

impl Loc {
    async fn open(&self) -> Store {
        match self {
            Loc::File(p) => Store::open(p).unwrap(),
            // Claims run out fast here, so that taking over a dead
            // replica's outbox entries takes a second.
            Loc::Pg(url) => Store::connect_with(
                url,
                PgOptions {
                    outbox_claim: Duration::from_secs(1),
                    ..PgOptions::default()
                },
            )
            .await
            .unwrap(),
        }
    }
}

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

type Case = (
    &'static str,
    fn(Loc) -> Pin<Box<dyn Future<Output = ()> + Send>>,
);

macro_rules! cases {
    ($($f:ident),* $(,)?) => {
        vec![$((stringify!($f), (|l| Box::pin($f(l))) as fn(Loc) -> Pin<Box<dyn Future<Output = ()> + Send>>)),*]
    };
}

fn shared_cases() -> Vec<Case> {
    cases![
        same_content_is_a_no_op,
        new_content_replaces_and_moves_to_top,
        retract_and_purge_leave_pruned_tombstones,
        topics_are_separate_and_sorted,
        cursors_are_stable_while_items_arrive,
        restart_keeps_everything,
        closed_blocks,
        outbox_order_bound_and_restart,
        delivery_cursor_records_and_forgets,
        catch_up_flags_and_leases,
        sinks_journal_and_cursors,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_on_sqlite() {
    for (name, case) in shared_cases() {
        let dir = tempfile::tempdir().unwrap();
        eprintln!("sqlite: {name}");
        case(Loc::File(dir.path().join("s.sqlite"))).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_on_postgres() {
    let pg = common::postgres::postgres();
    let mut all = shared_cases();
    all.extend(cases![
        replicas_ingest_idempotently_in_one_sequence,
        replicas_claim_outbox_entries_once,
        replicas_hear_each_others_changes,
        a_lease_has_one_holder,
        replicas_journal_each_change_once,
        schema_from_the_future_is_refused,
    ]);
    for (i, (name, case)) in all.into_iter().enumerate() {
        eprintln!("postgres: {name}");
        case(Loc::Pg(pg.create_db(&format!("case{i}")).unwrap())).await;
    }
}

/// Same content again is a no-op; the envelope round-trips exactly.
async fn same_content_is_a_no_op(loc: Loc) {
    let s = loc.open().await;
    let e = env("t", "1", "<a/>");
    let first = s.put(e.clone()).await.unwrap();
    assert!(matches!(first, PutOutcome::Inserted { .. }));
    let again = s.put(e.clone()).await.unwrap();
    assert_eq!(again, PutOutcome::Unchanged { seq: first.seq() });
    let got = s.get("t", "1").await.unwrap().unwrap();
    assert_eq!(got.envelope, e);
    assert_eq!(got.content_hash, content_hash("<a/>"));
    assert_eq!(s.topic("t").await.unwrap().unwrap().items, 1);
    let e2 = Envelope {
        publisher: None,
        delayed_at: None,
        ..env("t", "2", "<b>ünïcode ✓</b>")
    };
    s.put(e2.clone()).await.unwrap();
    assert_eq!(s.get("t", "2").await.unwrap().unwrap().envelope, e2);
    assert!(s.get("t", "3").await.unwrap().is_none());
    s.check_writable().await.unwrap();
}

/// New content for a known id replaces it, keeps `published`, and moves
/// the item to the top of the feed.
async fn new_content_replaces_and_moves_to_top(loc: Loc) {
    let s = loc.open().await;
    let one = s.put(env("t", "1", "<a/>")).await.unwrap();
    s.put(env("t", "2", "<b/>")).await.unwrap();
    let before = s.get("t", "1").await.unwrap().unwrap();
    let re = s.put(env("t", "1", "<a>v2</a>")).await.unwrap();
    let PutOutcome::Replaced { seq, previous } = re else {
        panic!("{re:?}")
    };
    assert_eq!(previous, one.seq());
    assert!(seq > previous);
    let after = s.get("t", "1").await.unwrap().unwrap();
    assert_eq!(after.envelope.document, "<a>v2</a>");
    assert_eq!(after.published, before.published);
    let page = s.page("t", Cursor::Newest, 10).await.unwrap();
    let ids: Vec<_> = page
        .items
        .iter()
        .map(|i| i.envelope.item_id.as_str())
        .collect();
    assert_eq!(ids, ["1", "2"]);
    let c = s.counters()["t"];
    assert_eq!((c.inserted, c.replaced), (2, 1));
    assert_eq!(s.last_seq(), seq);
}

/// Retract and purge delete and leave tombstones; storing the id again
/// removes its tombstone; only the newest TOMBSTONES_KEPT are kept.
async fn retract_and_purge_leave_pruned_tombstones(loc: Loc) {
    let s = loc.open().await;
    s.put(env("t", "1", "<a/>")).await.unwrap();
    assert!(s.retract("t", "1").await.unwrap());
    assert!(!s.retract("t", "1").await.unwrap());
    assert!(s.get("t", "1").await.unwrap().is_none());
    assert_eq!(s.tombstones("t").await.unwrap()[0].item_id, "1");
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
    s.put(env("p", "a", "<a/>")).await.unwrap();
    s.put(env("p", "b", "<b/>")).await.unwrap();
    assert_eq!(s.purge("p").await.unwrap(), 2);
    assert_eq!(s.purge("p").await.unwrap(), 0);
    assert_eq!(s.tombstones("p").await.unwrap().len(), 2);
    assert_eq!(s.topic("p").await.unwrap().unwrap().items, 0);
    assert_eq!(s.counters()["p"].retracted, 2);
}

/// Topics are separate namespaces, listed in byte order.
async fn topics_are_separate_and_sorted(loc: Loc) {
    let s = loc.open().await;
    s.put(env("b", "1", "<a/>")).await.unwrap();
    s.put(env("a", "1", "<a/>")).await.unwrap();
    s.put(env("B", "1", "<a/>")).await.unwrap();
    let empty = s.ensure_topic("c").await.unwrap();
    assert_eq!((empty.items, empty.created), (0, empty.updated));
    assert_eq!(
        s.item_keys("a").await.unwrap(),
        vec![("1".to_owned(), content_hash("<a/>"))]
    );
    let names: Vec<_> = s
        .topics()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.topic)
        .collect();
    assert_eq!(names, ["B", "a", "b", "c"]);
    assert!(s.topic("zz").await.unwrap().is_none());
}

/// Walking `Before` cursors visits every item exactly once, newest first,
/// even while new items arrive; `After` walks back up.
async fn cursors_are_stable_while_items_arrive(loc: Loc) {
    let s = loc.open().await;
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
    let none = s.page("t", Cursor::Before(1), 4).await.unwrap();
    assert!(none.items.is_empty() && none.has_newer && !none.has_older);
}

/// Reopening gives back the same items, topics and pages; a retracted
/// newest sequence number is never handed out again.
async fn restart_keeps_everything(loc: Loc) {
    let (items, topic) = {
        let s = loc.open().await;
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
    let s = loc.open().await;
    assert_eq!(s.page("t", Cursor::Newest, 10).await.unwrap(), items);
    assert_eq!(s.topic("t").await.unwrap(), topic);
    assert_eq!(s.last_seq(), items.items[0].seq + 1, "known at open");
    let next = s.put(env("t", "5", "<z/>")).await.unwrap();
    assert!(next.seq() > items.items[0].seq + 1);
}

/// Archive blocks: closed once the sequence passed their end, restricted
/// to one topic, linked to their neighbours.
async fn closed_blocks(loc: Loc) {
    let s = loc.open().await;
    for i in 0..7 {
        let topic = if i % 2 == 0 { "t" } else { "u" };
        s.put(env(topic, &format!("{i}"), "<a/>")).await.unwrap();
    }
    // seq 1..=7; blocks of 3: 0 = 1..3, 1 = 4..6 closed; 2 open.
    assert_eq!(s.newest_closed_block("t", 3).await.unwrap(), Some(1));
    let b0 = s.closed_block("t", 3, 0).await.unwrap().unwrap();
    let ids: Vec<_> = b0
        .items
        .iter()
        .map(|i| i.envelope.item_id.as_str())
        .collect();
    assert_eq!(ids, ["2", "0"]);
    assert_eq!((b0.older, b0.newer), (None, Some(1)));
    let b1 = s.closed_block("t", 3, 1).await.unwrap().unwrap();
    assert_eq!(b1.items.len(), 1);
    assert_eq!((b1.older, b1.newer), (Some(0), None));
    assert!(
        s.closed_block("t", 3, 2).await.unwrap().is_none(),
        "still open"
    );
    assert!(s.closed_block("t", 3, u64::MAX).await.unwrap().is_none());
    assert_eq!(s.newest_closed_block("t", 0).await.unwrap(), None);
}

/// The outbox keeps sending order, refuses entries beyond its bound,
/// survives a reopen, and forgets only what was removed.
async fn outbox_order_bound_and_restart(loc: Loc) {
    let s = loc.open().await;
    let a = s.outbox_push("t", "1", "<a/>", 3).await.unwrap();
    let b = s.outbox_push("t", "2", "<b/>", 3).await.unwrap();
    let c = s.outbox_push("u", "1", "<c/>", 3).await.unwrap();
    assert!(a < b && b < c);
    match s.outbox_push("t", "3", "<d/>", 3).await {
        Err(StoreError::OutboxFull { max: 3 }) => {}
        other => panic!("expected OutboxFull, got {other:?}"),
    }
    s.outbox_failed(a, "no answer").await.unwrap();
    drop(s);
    let s = loc.open().await;
    // With PostgreSQL the reopened store is another replica: the entries
    // are its once the first one's claims run out (tested below); here
    // we wait for that.
    let head = wait_for_head(&s, 3).await;
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

async fn wait_for_head(s: &Store, n: usize) -> Vec<gridlink::store::OutboxEntry> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let head = s.outbox_head(10).await.unwrap();
        if head.len() >= n || std::time::Instant::now() > deadline {
            return head;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Delivery records: per topic, the newest content wins; forgetting one
/// item or a whole topic works.
async fn delivery_cursor_records_and_forgets(loc: Loc) {
    let s = loc.open().await;
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

/// Catch-up flags persist; a lone store always holds its leases.
async fn catch_up_flags_and_leases(loc: Loc) {
    let s = loc.open().await;
    assert!(!s.is_catch_up_unfinished("t").await.unwrap());
    s.catch_up_unfinished("t").await.unwrap();
    s.catch_up_unfinished("t").await.unwrap();
    assert!(s.is_catch_up_unfinished("t").await.unwrap());
    assert!(!s.is_catch_up_unfinished("u").await.unwrap());
    s.catch_up_finished("t").await.unwrap();
    assert!(!s.is_catch_up_unfinished("t").await.unwrap());
    assert!(s.lease("poll x", Duration::from_secs(5)).await.unwrap());
    assert!(
        s.lease("poll x", Duration::from_secs(5)).await.unwrap(),
        "renewed"
    );
    s.release("poll x").await.unwrap();
}

/// The own-cursor sinks' journal: appends in order, reads after a
/// position, cursors per sink, pruning keeps the numbering, a restart
/// keeps all of it.
async fn sinks_journal_and_cursors(loc: Loc) {
    let s = loc.open().await;
    s.journal_init().await.unwrap();
    s.journal_init().await.unwrap();
    assert_eq!(s.journal_head().await.unwrap(), 0);
    let head = s
        .journal_append(vec!["a".into(), "b".into(), "c".into()])
        .await
        .unwrap();
    assert_eq!(head, 3);
    assert_eq!(
        s.journal_read(1, 10).await.unwrap(),
        vec![(2, "b".to_string()), (3, "c".to_string())]
    );
    assert_eq!(s.journal_read(0, 1).await.unwrap().len(), 1);
    assert_eq!(s.sink_cursor("x").await.unwrap(), None);
    s.set_sink_cursor("x", 2).await.unwrap();
    s.set_sink_cursor("x", 3).await.unwrap();
    assert_eq!(s.sink_cursor("x").await.unwrap(), Some(3));
    assert_eq!(s.sink_cursor("y").await.unwrap(), None);
    assert!(s.sink_lease("x", Duration::from_secs(5)).await.unwrap());
    s.journal_prune(3).await.unwrap();
    assert!(s.journal_read(0, 10).await.unwrap().is_empty());
    drop(s);
    let s = loc.open().await;
    s.journal_init().await.unwrap();
    assert_eq!(s.journal_head().await.unwrap(), 3, "numbers never reused");
    assert_eq!(s.sink_cursor("x").await.unwrap(), Some(3));
    assert_eq!(s.journal_append(vec!["d".into()]).await.unwrap(), 4);
    let key = |id: &str, mark: &str| {
        Some(JournalKey {
            topic: "t".into(),
            item_id: id.into(),
            mark: mark.into(),
        })
    };
    let h = s
        .journal_append_keyed(key("1", "h1"), "e".into())
        .await
        .unwrap();
    assert_eq!(h, 5);
    assert_eq!(s.journal_read(4, 10).await.unwrap(), vec![(5, "e".into())]);
}

/// Two replicas hear the same grid changes and journal them: each change
/// is journaled once (the same content again, a retract again, a purge
/// again are the other replica's copies), while a change that differs
/// from the last one journaled for its item is journaled. A sink is
/// delivered to by one replica; its cursor is shared and never moves
/// back; pruning waits for every replica's sinks.
async fn replicas_journal_each_change_once(loc: Loc) {
    let (a, b) = (loc.open().await, loc.open().await);
    let key = |id: &str, mark: &str| {
        Some(JournalKey {
            topic: "t".into(),
            item_id: id.into(),
            mark: mark.into(),
        })
    };
    let both = |k: Option<JournalKey>, line: &'static str| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            let (x, y) = tokio::join!(
                a.journal_append_keyed(k.clone(), format!("{line} from a")),
                b.journal_append_keyed(k, format!("{line} from b")),
            );
            (x.unwrap(), y.unwrap())
        }
    };
    assert_eq!(both(key("1", "h1"), "publish 1").await, (1, 1));
    both(key("2", "h2"), "publish 2").await;
    both(key("1", "h1b"), "update 1").await;
    both(key("1", "retracted"), "retract 1").await;
    both(key("1", "h1b"), "publish 1 again").await;
    both(key("", "purged"), "purge").await;
    both(key("2", "h2"), "publish 2 after the purge").await;
    // Events of a replica's own session: each replica journals its own.
    both(None, "resubscribed").await;
    let lines: Vec<String> = a
        .journal_read(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, l)| l.rsplit_once(" from ").unwrap().0.to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "publish 1",
            "publish 2",
            "update 1",
            "retract 1",
            "publish 1 again",
            "purge",
            "publish 2 after the purge",
            "resubscribed",
            "resubscribed"
        ]
    );
    assert_eq!(a.journal_head().await.unwrap(), 9);
    assert_eq!(b.journal_head().await.unwrap(), 9);

    // One holder per sink; the other sees the holder's cursor.
    let ttl = Duration::from_millis(800);
    assert!(a.sink_lease("s", ttl).await.unwrap());
    assert!(!b.sink_lease("s", ttl).await.unwrap());
    assert!(b.sink_lease("other", ttl).await.unwrap());
    a.set_sink_cursor("s", 0).await.unwrap();
    b.set_sink_cursor("other", 0).await.unwrap();
    a.set_sink_cursor("s", 6).await.unwrap();
    assert_eq!(b.sink_cursor("s").await.unwrap(), Some(6));
    b.set_sink_cursor("s", 4).await.unwrap();
    assert_eq!(a.sink_cursor("s").await.unwrap(), Some(6), "never back");
    // a prunes up to its sink; b's sink (cursor 0) holds the journal.
    a.journal_prune(6).await.unwrap();
    assert_eq!(a.journal_read(0, 100).await.unwrap().len(), 9);
    b.set_sink_cursor("other", 5).await.unwrap();
    a.journal_prune(6).await.unwrap();
    assert_eq!(a.journal_read(0, 100).await.unwrap()[0].0, 6);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(b.sink_lease("s", ttl).await.unwrap(), "a stopped renewing");
}

/// Two replicas storing the same items at once: one stored version per
/// item content, one gap-free sequence in commit order.
async fn replicas_ingest_idempotently_in_one_sequence(loc: Loc) {
    let (a, b) = (loc.open().await, loc.open().await);
    let put_all = |s: Store| {
        tokio::spawn(async move {
            let mut inserted = 0;
            for i in 0..200 {
                if let PutOutcome::Inserted { .. } = s
                    .put(env("t", &format!("{i}"), &format!("<a n='{i}'/>")))
                    .await
                    .unwrap()
                {
                    inserted += 1;
                }
            }
            inserted
        })
    };
    let (x, y) = (put_all(a.clone()), put_all(b.clone()));
    let (x, y) = (x.await.unwrap(), y.await.unwrap());
    assert_eq!(x + y, 200, "each item inserted once, by one replica");
    let page = a.page("t", Cursor::Newest, 500).await.unwrap();
    assert_eq!(page.items.len(), 200);
    let mut seqs: Vec<i64> = page.items.iter().map(|i| i.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>(), "no gaps, no repeats");
    assert_eq!(page, b.page("t", Cursor::Newest, 500).await.unwrap());
}

/// An entry is handed to one replica; another takes it only once the
/// first one's claim ran out (it died).
async fn replicas_claim_outbox_entries_once(loc: Loc) {
    let (a, b) = (loc.open().await, loc.open().await);
    let sa = a.outbox_push("t", "1", "<a/>", 10).await.unwrap();
    let sb = b.outbox_push("t", "2", "<b/>", 10).await.unwrap();
    let ha: Vec<i64> = a
        .outbox_head(10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    let hb: Vec<i64> = b
        .outbox_head(10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!((ha, hb), (vec![sa], vec![sb]), "each drains its own");
    drop(a); // dies without removing its entry
    let taken = wait_for_head(&b, 2).await;
    let seqs: Vec<i64> = taken.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![sa, sb], "the dead replica's entry, taken over");
}

/// A change through one replica moves the other's generation (its cached
/// pages are dropped) and its idea of the sequence.
async fn replicas_hear_each_others_changes(loc: Loc) {
    let (a, b) = (loc.open().await, loc.open().await);
    tokio::time::sleep(Duration::from_millis(300)).await; // both listening
    let before = b.generation("t");
    let seq = a.put(env("t", "1", "<a/>")).await.unwrap().seq();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while b.generation("t") == before || b.last_seq() < seq {
        assert!(
            std::time::Instant::now() < deadline,
            "no notification reached b"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let g = b.generation("t");
    a.retract("t", "1").await.unwrap();
    while b.generation("t") == g {
        assert!(
            std::time::Instant::now() < deadline,
            "no notification of the retract"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One holder at a time; another takes the lease when it runs out or is
/// given up.
async fn a_lease_has_one_holder(loc: Loc) {
    let (a, b) = (loc.open().await, loc.open().await);
    let ttl = Duration::from_millis(800);
    assert!(a.lease("poll", ttl).await.unwrap());
    assert!(!b.lease("poll", ttl).await.unwrap());
    assert!(a.lease("poll", ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(b.lease("poll", ttl).await.unwrap(), "a stopped renewing");
    assert!(!a.lease("poll", ttl).await.unwrap());
    b.release("poll").await.unwrap();
    assert!(a.lease("poll", ttl).await.unwrap(), "given up");
    assert!(b.lease("other", ttl).await.unwrap());
}

/// A database migrated by a newer gridlink is refused.
async fn schema_from_the_future_is_refused(loc: Loc) {
    let Loc::Pg(url) = &loc else { return };
    drop(loc.open().await);
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let v: i64 = c
        .query_one("SELECT version FROM gridlink_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, gridlink::store::PG_SCHEMA_VERSION);
    c.execute("UPDATE gridlink_schema SET version = version + 1", &[])
        .await
        .unwrap();
    let err = Store::connect(url).await.unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
    let bad = Store::connect("postgres://x@127.0.0.1:1/db?nonsense=1")
        .await
        .unwrap_err();
    assert!(matches!(bad, StoreError::Location(_)), "{bad}");
}

/// `sslmode=require` speaks TLS, checked against `sslrootcert` (or the
/// system's anchors, which do not know the lab CA: refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls() {
    let pg = match gridlink::lab::Postgres::start_tls() {
        Ok(pg) => pg,
        Err(e) => panic!("{e} (install the test dependencies with scripts/deps)"),
    };
    let ca = pg.ca_pem().unwrap().display().to_string();
    let url = format!("postgres://gridlink@localhost:{}/postgres", pg.port());
    let s = Store::connect(&format!("{url}?sslmode=require&sslrootcert={ca}"))
        .await
        .unwrap();
    s.put(env("t", "1", "<a/>")).await.unwrap();
    // The server says whether this session is encrypted.
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let tls_sessions: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE s.ssl AND a.application_name = 'gridlink'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(tls_sessions >= 1, "no TLS session from gridlink");
    let err = Store::connect(&format!("{url}?sslmode=require"))
        .await
        .expect_err("a certificate from an unknown CA is refused");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    let missing = Store::connect(&format!("{url}?sslmode=require&sslrootcert=/nonexistent")).await;
    assert!(matches!(missing, Err(StoreError::Location(_))));
}

/// Client certificates (`cert` authentication): `sslmode=verify-full`
/// with `sslcert`, `sslkey` and `sslrootcert` logs in as the role the
/// certificate names; without the certificate the server refuses; a key
/// others can read, half a pair, or `verify-ca` are refused before
/// connecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_client_certificates() {
    let mut pg = match gridlink::lab::Postgres::start_tls() {
        Ok(pg) => pg,
        Err(e) => panic!("{e} (install the test dependencies with scripts/deps)"),
    };
    pg.require_client_cert("replica").unwrap();
    let ca_pem = pg.ca_pem().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let id = pg.client_cert(dir.path(), "replica").unwrap();
    let base = format!(
        "postgres://replica@localhost:{}/replica?sslmode=verify-full&sslrootcert={}",
        pg.port(),
        ca_pem.display()
    );
    let with_cert = format!(
        "{base}&sslcert={}&sslkey={}",
        id.chain_pem.display(),
        id.key_pem.display()
    );
    // The key as written (0644): refused, as libpq refuses it.
    let err = Store::connect(&with_cert).await.unwrap_err();
    assert!(err.to_string().contains("readable by others"), "{err}");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&id.key_pem, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = Store::connect(&with_cert).await.unwrap();
    s.put(env("t", "1", "<a/>")).await.unwrap();
    assert_eq!(
        s.page("t", Cursor::Newest, 10).await.unwrap().items.len(),
        1
    );
    // Who the server took us for, and over what.
    let (c, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = c
        .query_one(
            "SELECT count(*), bool_and(s.ssl), min(s.client_dn) FROM pg_stat_ssl s \
             JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'replica'",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, i64>(0) >= 1, "no session as replica");
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, String>(2), "/CN=replica");
    // No certificate: the server refuses the role.
    let err = Store::connect(&base).await.unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
    let half = format!("{base}&sslcert={}", id.chain_pem.display());
    assert!(matches!(
        Store::connect(&half).await,
        Err(StoreError::Location(_))
    ));
    let plain = format!(
        "postgres://replica@localhost:{}/replica?sslcert={}&sslkey={}",
        pg.port(),
        id.chain_pem.display(),
        id.key_pem.display()
    );
    assert!(matches!(
        Store::connect(&plain).await,
        Err(StoreError::Location(_))
    ));
    let ca_only = base.replace("verify-full", "verify-ca");
    let err = Store::connect(&ca_only).await.unwrap_err();
    assert!(err.to_string().contains("verify-full"), "{err}");
}
