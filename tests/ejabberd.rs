//! gridlink against a real ejabberd 23.01 (design §4: the second broker),
//! with mnesia (as ejabberd ships) and SQLite storage: SCRAM login over
//! STARTTLS, topics created and discovered by `pubsub#type`, publish →
//! notification, and catch-up of more items than ejabberd returns in one
//! answer (it pages items with RSM, which Prosody never does).
//! Each test fails with a clear message when ejabberd is missing.

mod common;

use std::time::Duration;

use common::{ejabberd, gridlink_on_ejabberd};
use gridlink::durable::Follower;
use gridlink::grid::{
    AccessModel, Affiliation, Grid, GridEvent, Payload, TopicOptions, TopicSelection,
};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::{Ejabberd, EjabberdOptions, EjabberdStorage, TcpProxy};
use gridlink::store::Store;

const TOPIC: &str = "incidents";
/// More items than ejabberd puts in one items answer.
const BACKLOG: usize = 25;

async fn grid(e: &Ejabberd, user: &str) -> Grid {
    Grid::connect(e.client_config(user, &format!("{user}-pw")))
        .await
        .unwrap_or_else(|err| {
            panic!(
                "{user} cannot join ejabberd: {err}\nlog tail:\n{}",
                tail(&e.log())
            )
        })
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

async fn open_topic(publisher: &Grid, e: &Ejabberd) {
    let opts = TopicOptions {
        access_model: AccessModel::Open,
        ..Default::default()
    };
    publisher
        .create_topic(TOPIC, &opts)
        .await
        .unwrap_or_else(|err| panic!("create topic on ejabberd: {err}\n{}", tail(&e.log())));
}

fn id(n: usize) -> String {
    format!("csirt.example.com:{n}")
}

async fn publish(g: &Grid, range: std::ops::Range<usize>) {
    for n in range {
        let p = incident_payload(n);
        g.publish(TOPIC, &p)
            .await
            .unwrap_or_else(|err| panic!("publish {n} to ejabberd: {err}"));
    }
}

fn item_id(ev: &GridEvent) -> String {
    match ev {
        GridEvent::Item { envelope, .. } => envelope.item_id.clone(),
        GridEvent::Gap { kept, detail, .. } => format!("GAP {kept}: {detail}"),
        other => format!("unexpected event {other:?}"),
    }
}

/// Login with SCRAM (never PLAIN, which ejabberd offers too) after
/// STARTTLS, as ejabberd's own log records it.
#[tokio::test]
async fn login_uses_scram_over_starttls() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let g = grid(&e, "publisher").await;
    g.close().await;
    // ejabberd's file logger writes asynchronously: wait for the line.
    let is_login = |l: &&str| l.contains("Accepted c2s") && l.contains("publisher@localhost");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = e.log();
        if log.lines().any(|l| is_login(&l)) || std::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let line = log
        .lines()
        .find(is_login)
        .unwrap_or_else(|| panic!("no login in ejabberd's log after 10 s:\n{}", tail(&log)));
    // SHA-256 without -PLUS: ejabberd 23.01 offers SCRAM-SHA-256-PLUS but
    // refuses tls-exporter binding and does not advertise XEP-0440 types.
    assert!(line.contains("SCRAM-SHA-256 "), "not SCRAM-SHA-256: {line}");
    assert!(!line.contains("PLAIN"), "PLAIN was used: {line}");
    // ejabberd names the socket `tls|…` once STARTTLS is up.
    assert!(line.contains("(tls|"), "not over TLS: {line}");
}

/// Direct TLS (XEP-0368) to ejabberd's TLS port: TLS 1.3, then SCRAM.
#[tokio::test]
async fn direct_tls_login() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let mut c = e.client_config("publisher", "publisher-pw");
    c.tls_mode = gridlink::config::TlsMode::DirectTls;
    c.server = Some(("127.0.0.1".into(), e.direct_tls_port));
    let s = gridlink::xmpp::Session::connect(c)
        .await
        .unwrap_or_else(|err| panic!("direct TLS to ejabberd: {err}"));
    assert_eq!(s.tls_version(), Some("TLSv1.3"));
    assert_eq!(s.mechanism(), "SCRAM-SHA-256");
    s.close().await;
}

/// A topic gridlink creates is an IODEF topic to `discover` (by
/// `pubsub#type`, read back from ejabberd's node configuration).
#[tokio::test]
async fn created_topic_is_discovered_by_type() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let g = grid(&e, "publisher").await;
    assert_eq!(g.service().to_string(), e.pubsub, "pubsub service by disco");
    open_topic(&g, &e).await;
    let found = g.discover(false).await.expect("discover");
    let names: Vec<&str> = found.iter().map(|t| t.node.as_str()).collect();
    assert_eq!(names, [TOPIC], "IODEF topics on ejabberd: {found:?}");
    assert!(found[0].is_iodef(), "{:?}", found[0]);
}

/// Publish → the subscriber gets the item, document intact.
#[tokio::test]
async fn published_item_reaches_subscriber() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let publisher = grid(&e, "publisher").await;
    let subscriber = grid(&e, "subscriber").await;
    open_topic(&publisher, &e).await;
    let mut sub = subscribe_to(&subscriber).await;
    let p = incident_payload(7);
    let item = publisher.publish(TOPIC, &p).await.expect("publish");
    let ev = next_event(&mut sub).await;
    let GridEvent::Item { envelope, .. } = ev else {
        panic!("expected an item, got {ev:?}");
    };
    assert_eq!(envelope.item_id, item);
    assert_eq!(envelope.topic, TOPIC);
    assert_eq!(envelope.document, p.xml, "document changed on the way");
}

/// `items` (everything) and `for_each_item` (pages) see the whole backlog,
/// and a follower started after it was published hands over every item
/// exactly once, in order, then the next live one.
async fn catch_up_beyond_one_answer(storage: EjabberdStorage) {
    let e = ejabberd(storage);
    let publisher = grid(&e, "publisher").await;
    open_topic(&publisher, &e).await;
    publish(&publisher, 0..BACKLOG).await;
    let want: Vec<String> = (0..BACKLOG).map(id).collect();

    let reader = grid(&e, "subscriber").await;
    let all = reader
        .items(TOPIC, None, None, ValidationLevel::Basic)
        .await
        .expect("items");
    let got: Vec<String> = all.iter().map(item_id).collect();
    assert_eq!(got, want, "`items` of {BACKLOG} on ejabberd ({storage:?})");
    let newest = reader
        .items(TOPIC, Some(3), None, ValidationLevel::Basic)
        .await
        .expect("items --max 3");
    let got: Vec<String> = newest.iter().map(item_id).collect();
    assert_eq!(
        got,
        want[BACKLOG - 3..],
        "the newest 3, oldest first, on ejabberd ({storage:?})"
    );

    let mut paged = Vec::new();
    reader
        .for_each_item(TOPIC, 5, ValidationLevel::Basic, |ev| {
            paged.push(item_id(&ev));
            true
        })
        .await
        .expect("for_each_item");
    assert_eq!(paged, want, "`for_each_item` on ejabberd ({storage:?})");
    reader.close().await;

    let dir = tempfile::tempdir().expect("temp dir");
    let mut f = follow(&e, dir.path()).await;
    let mut got = Vec::new();
    for _ in 0..BACKLOG + 1 {
        if got.len() == BACKLOG {
            publish(&publisher, BACKLOG..BACKLOG + 1).await;
        }
        let ev = tokio::time::timeout(Duration::from_secs(20), f.next())
            .await
            .unwrap_or_else(|_| panic!("no event within 20 s after {got:?}"))
            .expect("session ended");
        f.delivered(&ev).await.expect("record delivery");
        got.push(item_id(&ev));
    }
    let mut want = want;
    want.push(id(BACKLOG));
    assert_eq!(got, want, "follower catch-up on ejabberd ({storage:?})");
}

#[tokio::test]
async fn catch_up_beyond_one_answer_mnesia() {
    catch_up_beyond_one_answer(EjabberdStorage::Mnesia).await;
}

#[tokio::test]
async fn catch_up_beyond_one_answer_sqlite() {
    catch_up_beyond_one_answer(EjabberdStorage::Sqlite).await;
}

/// A follower restarted behind on SQLite storage (RSM pages, cursor
/// dropping what was delivered): exactly what it missed, in order, no gap.
#[tokio::test]
async fn restart_behind_gets_exactly_what_was_missed_sqlite() {
    let e = ejabberd(EjabberdStorage::Sqlite);
    let publisher = grid(&e, "publisher").await;
    open_topic(&publisher, &e).await;
    publish(&publisher, 0..5).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let follow = || async {
        let store = Store::open(dir.path().join("state.db")).expect("store");
        let g = grid(&e, "subscriber").await;
        Follower::start_paged(
            &g,
            TopicSelection::Named(vec![TOPIC.into()]),
            ValidationLevel::Basic,
            store,
            4,
        )
        .await
        .expect("follow")
    };
    {
        let mut f = follow().await;
        assert_eq!(take(&mut f, 5).await, (0..5).map(id).collect::<Vec<_>>());
    }
    publish(&publisher, 5..BACKLOG).await;
    let mut f = follow().await;
    let missed: Vec<String> = (5..BACKLOG).map(id).collect();
    assert_eq!(take(&mut f, BACKLOG - 5).await, missed, "after a restart");
    assert!(
        f.largest_fetch() <= 5,
        "an answer held {} items (page 4)",
        f.largest_fetch()
    );
    publish(&publisher, BACKLOG..BACKLOG + 1).await;
    assert_eq!(take(&mut f, 1).await, [id(BACKLOG)], "the live item next");
}

/// An item published again with new content while the follower was away
/// (an incident's update: same IncidentID, so the same item id) is
/// delivered after the restart, in ejabberd's RSM order. That order is the
/// first publication's (`creation`, which ejabberd keeps when an item is
/// replaced), not the last one's: the updated item comes back in its old
/// place, before items published after it but before its update. So a
/// follower that resumed after the last RSM position it delivered would
/// never see the update; gridlink's follower reads ejabberd's RSM pages from
/// the start and skips what its cursor holds (issue 22 item 4: "ejabberd's
/// RSM used from the last delivered position when its order allows" — it
/// does not; `tests/ejabberd_rsm.rs` checks the raw RSM order, this the
/// follower end to end).
async fn update_while_away_is_delivered(storage: EjabberdStorage) {
    let e = ejabberd(storage);
    let publisher = grid(&e, "publisher").await;
    open_topic(&publisher, &e).await;
    publish(&publisher, 0..5).await;
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let mut f = follow(&e, dir.path()).await;
        assert_eq!(take(&mut f, 5).await, (0..5).map(id).collect::<Vec<_>>());
    }
    publish(&publisher, 5..7).await;
    let update = common::incident(1).replace("2026-11-23T09", "2026-11-24T09");
    let update = Payload::prepare(update.as_bytes(), ValidationLevel::Strict, 64 * 1024)
        .expect("updated test document");
    publisher
        .publish(TOPIC, &update)
        .await
        .expect("publish the update");

    let mut f = follow(&e, dir.path()).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let ev = tokio::time::timeout(Duration::from_secs(20), f.next())
            .await
            .unwrap_or_else(|_| panic!("no event within 20 s after {got:?}"))
            .expect("session ended");
        f.delivered(&ev).await.expect("record delivery");
        if let GridEvent::Item { envelope, .. } = &ev {
            if envelope.item_id == id(1) {
                assert_eq!(envelope.document, update.xml, "the update's content");
            }
        }
        got.push(item_id(&ev));
    }
    assert_eq!(
        got,
        [id(1), id(5), id(6)],
        "after a restart on ejabberd ({storage:?}): the update in its first publication's \
         place, then what was published after that"
    );
}

#[tokio::test]
async fn update_while_away_is_delivered_mnesia() {
    update_while_away_is_delivered(EjabberdStorage::Mnesia).await;
}

#[tokio::test]
async fn update_while_away_is_delivered_sqlite() {
    update_while_away_is_delivered(EjabberdStorage::Sqlite).await;
}

/// The next `n` events as item ids, each recorded as delivered.
async fn take(f: &mut Follower, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    for _ in 0..n {
        let ev = tokio::time::timeout(Duration::from_secs(20), f.next())
            .await
            .unwrap_or_else(|_| panic!("no event within 20 s after {got:?}"))
            .expect("session ended");
        f.delivered(&ev).await.expect("record delivery");
        got.push(item_id(&ev));
    }
    got
}

/// The topic's configuration as ejabberd reports it back, `ensure_topic` on
/// the existing topic, and a retraction reaching the subscriber.
#[tokio::test]
async fn configuration_ensure_and_retraction() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let publisher = grid(&e, "publisher").await;
    let subscriber = grid(&e, "subscriber").await;
    let opts = TopicOptions {
        access_model: AccessModel::Open,
        title: Some("Incidents".into()),
        max_items: Some(500),
        ..Default::default()
    };
    publisher
        .create_topic(TOPIC, &opts)
        .await
        .unwrap_or_else(|err| panic!("create topic on ejabberd: {err}\n{}", tail(&e.log())));
    let config = publisher.topic_config(TOPIC).await.expect("topic config");
    for (var, want) in [
        ("pubsub#type", "urn:ietf:params:xml:ns:iodef-2.0"),
        ("pubsub#access_model", "open"),
        ("pubsub#max_items", "500"),
        ("pubsub#persist_items", "1"),
        ("pubsub#title", "Incidents"),
    ] {
        assert_eq!(
            config.get(var).map(String::as_str),
            Some(want),
            "{var} as ejabberd reports it: {config:?}"
        );
    }
    let ensured = publisher
        .ensure_topic(TOPIC, &opts)
        .await
        .expect("ensure on ejabberd");
    assert!(!ensured.created, "{ensured:?}");
    assert!(ensured.differences.is_empty(), "{ensured:?}");

    let mut sub = subscribe_to(&subscriber).await;
    publish(&publisher, 0..1).await;
    assert_eq!(item_id(&next_event(&mut sub).await), id(0));
    publisher.retract(TOPIC, &id(0)).await.expect("retract");
    match next_event(&mut sub).await {
        GridEvent::Retract { topic, item_id, .. } => {
            assert_eq!((topic.as_str(), item_id.as_str()), (TOPIC, id(0).as_str()))
        }
        other => panic!("expected the retraction, got {other:?}"),
    }
}

async fn next_event(sub: &mut gridlink::grid::Subscription) -> GridEvent {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("no event from ejabberd within 10 s")
        .expect("subscription ended")
}

/// ejabberd 23.01 cuts its node list at `max_nodes_discoitems` (100 by
/// default) without RSM and without saying so: `gridlink discover` on 120
/// IODEF topics warns that the list may be cut short and what to do.
#[tokio::test]
async fn discovery_warns_when_the_node_list_may_be_cut_short() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let g = grid(&e, "publisher").await;
    let opts = TopicOptions {
        access_model: AccessModel::Open,
        ..Default::default()
    };
    for n in 0..120 {
        let name = format!("t{n:03}");
        g.create_topic(&name, &opts)
            .await
            .unwrap_or_else(|err| panic!("create {name} on ejabberd: {err}"));
    }
    g.close().await;
    let state = tempfile::tempdir().expect("temp dir");
    let out = gridlink_on_ejabberd(&e, "publisher", state.path())
        .arg("discover")
        .output()
        .expect("run gridlink");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let listed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.split('\t')
                .next()
                .is_some_and(|n| n.len() == 4 && n.starts_with('t'))
        })
        .count();
    assert!(listed >= 100, "{listed} topics listed");
    assert!(
        stderr.contains("may cut this list short") && stderr.contains("max_nodes_discoitems"),
        "no warning about a cut list:\n{stderr}"
    );
}

/// Access control on ejabberd as on Prosody (RFC 8600 §8.2): a whitelist
/// topic (gridlink's default) refuses a non-member's subscription; a member
/// may subscribe but not publish; a publisher publishes, and the
/// subscription gets the item.
#[tokio::test]
async fn whitelist_topic_needs_affiliations() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let owner = grid(&e, "publisher").await;
    owner
        .create_topic(TOPIC, &TopicOptions::default())
        .await
        .unwrap_or_else(|err| panic!("create topic on ejabberd: {err}"));
    let subscriber = grid(&e, "subscriber").await;
    let denied = subscriber
        .subscribe(
            TopicSelection::Named(vec![TOPIC.into()]),
            ValidationLevel::Basic,
        )
        .await;
    assert!(
        denied.is_err(),
        "a non-member subscribed to a whitelist topic"
    );
    owner
        .set_affiliation(
            TOPIC,
            &"subscriber@localhost".parse().unwrap(),
            Affiliation::Member,
        )
        .await
        .expect("grant member");
    let subscriber = grid(&e, "subscriber").await;
    let mut sub = subscribe_to(&subscriber).await;

    let doc = incident_payload(1);
    let member = grid(&e, "subscriber").await;
    assert!(
        member.publish(TOPIC, &doc).await.is_err(),
        "a member published"
    );
    owner
        .set_affiliation(
            TOPIC,
            &"subscriber@localhost".parse().unwrap(),
            Affiliation::Publisher,
        )
        .await
        .expect("grant publisher");
    member
        .publish(TOPIC, &doc)
        .await
        .expect("a publisher publishes");
    let ev = next_event(&mut sub).await;
    assert_eq!(item_id(&ev), id(1));
}

/// Interop on ejabberd with a client we did not write: slixmpp publishes
/// and gridlink receives, gridlink publishes and slixmpp receives, each
/// document canonical-XML-equal (Python's C14N) to what was sent.
#[tokio::test]
async fn slixmpp_and_gridlink_interoperate() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let e = ejabberd(EjabberdStorage::Mnesia);
    let publisher = grid(&e, "publisher").await;
    open_topic(&publisher, &e).await;
    let files = &common::VALID[..3];
    // The gridlink subscriber below is closed before slixmpp subscribes
    // as the same account, so each side sees only its own direction.

    // slixmpp → gridlink.
    let subscriber = grid(&e, "subscriber").await;
    let mut sub = subscribe_to(&subscriber).await;
    let out = common::peer_at(e.c2s_port, &e.ca.ca_pem, "publish", "publisher")
        .args(files.iter().map(|f| common::fixture(f)))
        .output()
        .expect("run slixmpp");
    assert!(
        out.status.success(),
        "slixmpp publishing to ejabberd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("slixmpp's JSON line"))
        .collect();
    assert_eq!(sent.len(), files.len());
    for (f, s) in files.iter().zip(&sent) {
        let ev = next_event(&mut sub).await;
        match ev {
            GridEvent::Item { envelope, .. } => assert_eq!(
                common::c14n(&envelope.document),
                common::c14n(s["sent"].as_str().unwrap_or_default()),
                "{f}"
            ),
            other => panic!("{f}: {other:?}"),
        }
    }

    drop(sub);
    subscriber.close().await;

    // gridlink → slixmpp.
    let mut child = common::peer_at(e.c2s_port, &e.ca.ca_pem, "subscribe", "subscriber")
        .args(["--count", &files.len().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run slixmpp");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (first, lines) = tokio::task::spawn_blocking(move || (lines.next(), lines))
        .await
        .expect("reader thread");
    assert_eq!(
        first.and_then(Result::ok).as_deref(),
        Some("READY"),
        "slixmpp did not subscribe on ejabberd"
    );
    for f in files {
        let p = Payload::prepare(&common::fixture_bytes(f), ValidationLevel::Strict, 1 << 20)
            .expect("fixture");
        publisher.publish(TOPIC, &p).await.expect("publish");
    }
    let n = files.len();
    let received: Vec<serde_json::Value> = tokio::task::spawn_blocking(move || {
        lines
            .take(n)
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect()
    })
    .await
    .expect("reader thread");
    let out = child.wait_with_output().expect("slixmpp exits");
    assert!(
        out.status.success(),
        "slixmpp subscribing on ejabberd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(received.len(), n);
    for (f, r) in files.iter().zip(&received) {
        let file = String::from_utf8(common::fixture_bytes(f)).expect("UTF-8 fixture");
        assert_eq!(
            common::c14n(r["xml"].as_str().unwrap_or_default()),
            common::c14n(&file),
            "{f}"
        );
    }
}

/// An `authorize` topic (Prosody 0.12 has no pending subscriptions;
/// ejabberd does): the subscription waits for the owner's approval, and the
/// subscriber is told so with a `Pending` event rather than silence.
#[tokio::test]
async fn authorize_topic_subscription_is_pending() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let owner = grid(&e, "publisher").await;
    authorize_topic(&owner).await;
    let subscriber = grid(&e, "subscriber").await;
    let mut sub = subscribe_to(&subscriber).await;
    let ev = next_event(&mut sub).await;
    assert!(
        matches!(&ev, GridEvent::Pending { topic } if topic == TOPIC),
        "{ev:?}"
    );
    assert_eq!(ev.to_json()["kind"], "pending");
}

/// The owner of an `authorize` topic who follows it is subscribed at once
/// (not kept waiting for itself), is told when someone asks to subscribe
/// (XEP-0060 §8.6), and the approval it then gives reaches the subscriber.
#[tokio::test]
async fn owner_is_told_of_a_subscription_request_and_approves_it() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let owner = grid(&e, "publisher").await;
    authorize_topic(&owner).await;
    let mut owners = subscribe_to(&owner).await;
    let subscriber = grid(&e, "subscriber").await;
    let mut sub = subscribe_to(&subscriber).await;
    let ev = next_event(&mut sub).await;
    assert!(matches!(&ev, GridEvent::Pending { .. }), "{ev:?}");

    // ejabberd has even the owner's own subscription wait for the owner;
    // gridlink approves it at once, so the owner neither waits for itself
    // nor hears of its own request.
    assert!(owners.pending().is_empty(), "{:?}", owners.pending());
    let request = GridEvent::SubscriptionRequest {
        topic: TOPIC.into(),
        jid: "subscriber@localhost".into(),
    };
    assert_eq!(next_event(&mut owners).await, request);
    // The waiting requests are also found on demand, but not on a session
    // whose messages a subscription reads.
    let err = owner
        .pending_subscriptions(TOPIC)
        .await
        .expect_err("pending requests read beside a subscription");
    assert!(err.to_string().contains("session of its own"), "{err}");
    let asker = grid(&e, "publisher").await;
    let pending = asker
        .pending_subscriptions(TOPIC)
        .await
        .unwrap_or_else(|err| panic!("get-pending: {err}"));
    assert!(
        pending.contains(&"subscriber@localhost".to_string()),
        "{pending:?}"
    );
    assert_eq!(request.to_json()["kind"], "subscription_request");
    assert_eq!(request.to_json()["jid"], "subscriber@localhost");
    let jid = "subscriber@localhost".parse().expect("the requester's JID");
    owner
        .set_subscription(TOPIC, &jid, true)
        .await
        .unwrap_or_else(|err| panic!("approve: {err}"));
    let ev = next_event(&mut sub).await;
    assert_eq!(
        ev,
        GridEvent::Approved {
            topic: TOPIC.into()
        }
    );
    // Both subscriptions are live: the owner's own (approved by itself)
    // and the approved one.
    publish(&owner, 0..1).await;
    // (get-pending above sent the request again, to every owner session.)
    let mut ev = next_event(&mut owners).await;
    while ev == request {
        ev = next_event(&mut owners).await;
    }
    assert_eq!(item_id(&ev), id(0));
    assert_eq!(item_id(&next_event(&mut sub).await), id(0));
}

/// Following an `authorize` topic: the follower starts (the items may not
/// be read yet) and says `Pending`; once the owner approves, it hands over
/// what the topic already held, then `Approved`, then live items.
#[tokio::test]
async fn follower_waits_for_approval_then_catches_up() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let owner = grid(&e, "publisher").await;
    authorize_topic(&owner).await;
    publish(&owner, 0..2).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut f = follow(&e, dir.path()).await;
    let ev = next_followed(&mut f).await;
    assert!(
        matches!(&ev, GridEvent::Pending { topic } if topic == TOPIC),
        "{ev:?}"
    );
    // The owner sees the request waiting (ejabberd leaves it out of the
    // subscription list: XEP-0060 §8.7's command finds it), and approves
    // it, with the CLI.
    let state = tempfile::tempdir().expect("temp dir");
    let listed = |state: &std::path::Path| {
        let out = gridlink_on_ejabberd(&e, "publisher", state)
            .args(["topic", "subscriptions", TOPIC])
            .output()
            .expect("run gridlink");
        assert!(
            out.status.success(),
            "topic subscriptions: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(listed(state.path()), "subscriber@localhost\tpending\n");
    let out = gridlink_on_ejabberd(&e, "publisher", state.path())
        .args(["topic", "approve", TOPIC, "subscriber@localhost"])
        .output()
        .expect("run gridlink");
    assert!(
        out.status.success(),
        "topic approve: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("approved\t{TOPIC}\tsubscriber@localhost")
    );
    let mut got = Vec::new();
    for _ in 0..3 {
        let ev = next_followed(&mut f).await;
        f.delivered(&ev).await.expect("record delivery");
        got.push(match &ev {
            GridEvent::Approved { topic } => format!("approved {topic}"),
            other => item_id(other),
        });
    }
    assert_eq!(got, [id(0), id(1), format!("approved {TOPIC}")]);
    assert_eq!(listed(state.path()), "subscriber@localhost\tsubscribed\n");
    publish(&owner, 2..3).await;
    assert_eq!(item_id(&next_followed(&mut f).await), id(2), "then live");
}

/// The follower's next event within 10 s.
async fn next_followed(f: &mut Follower) -> GridEvent {
    tokio::time::timeout(Duration::from_secs(10), f.next())
        .await
        .expect("an event within 10 s")
        .expect("session ended")
}

/// A subscription to the test topic (it must succeed).
async fn subscribe_to(g: &Grid) -> gridlink::grid::Subscription {
    g.subscribe(
        TopicSelection::Named(vec![TOPIC.into()]),
        ValidationLevel::Basic,
    )
    .await
    .expect("subscribe on ejabberd")
}

/// `common::incident(n)`, prepared for publishing.
fn incident_payload(n: usize) -> Payload {
    Payload::prepare(
        common::incident(n).as_bytes(),
        ValidationLevel::Strict,
        64 * 1024,
    )
    .expect("test document")
}

/// The test topic, `authorize` (subscriptions wait for the owner).
async fn authorize_topic(owner: &Grid) {
    let opts = TopicOptions {
        access_model: AccessModel::Authorize,
        ..Default::default()
    };
    owner
        .create_topic(TOPIC, &opts)
        .await
        .unwrap_or_else(|err| panic!("create an authorize topic on ejabberd: {err}"));
}

/// A follower of the test topic as `subscriber`, its cursor in `dir`.
async fn follow(e: &Ejabberd, dir: &std::path::Path) -> Follower {
    follow_on(&grid(e, "subscriber").await, dir).await
}

/// A follower of the test topic on `g`, its cursor in `dir`.
async fn follow_on(g: &Grid, dir: &std::path::Path) -> Follower {
    let store = Store::open(dir.join("state.db")).expect("store");
    Follower::start(
        g,
        TopicSelection::Named(vec![TOPIC.into()]),
        ValidationLevel::Basic,
        store,
    )
    .await
    .expect("follow the test topic on ejabberd")
}

/// An approval the follower could not hear: the owner approves while the
/// subscriber is cut off and its session is gone (no XEP-0198 resumption
/// to deliver the queued notification). The new session's resubscription
/// finds the topic subscribed: the follower says `Approved` and hands over
/// what the topic held, instead of waiting for a notification that never
/// comes.
#[tokio::test]
async fn approval_missed_while_offline_is_found_on_resubscribing() {
    let e = ejabberd(EjabberdStorage::Mnesia);
    let owner = grid(&e, "publisher").await;
    authorize_topic(&owner).await;
    publish(&owner, 0..2).await;
    let mut proxy = TcpProxy::start(
        format!("127.0.0.1:{}", e.c2s_port)
            .parse()
            .expect("socket address"),
    )
    .await
    .expect("start the proxy");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = e.client_config("subscriber", "subscriber-pw");
    cfg.server = Some(("127.0.0.1".into(), proxy.port));
    let g = Grid::connect(cfg)
        .await
        .unwrap_or_else(|err| panic!("subscriber through the proxy: {err}"));
    let mut f = follow_on(&g, dir.path()).await;
    let ev = next_followed(&mut f).await;
    assert!(
        matches!(&ev, GridEvent::Pending { topic } if topic == TOPIC),
        "{ev:?}"
    );

    // Offline, and the session ended on the server: nothing to resume.
    proxy.cut();
    let kicked = e
        .ctl(&["kick_user", "subscriber", "localhost"])
        .unwrap_or_else(|err| panic!("kick the subscriber's session: {err}"));
    let jid = "subscriber@localhost".parse().expect("jid");
    owner
        .set_subscription(TOPIC, &jid, true)
        .await
        .unwrap_or_else(|err| panic!("approve while the subscriber is offline: {err}"));
    proxy.restore().await.expect("restore the proxy");

    let mut got = Vec::new();
    while got.len() < 4 {
        let ev = tokio::time::timeout(Duration::from_secs(30), f.next())
            .await
            .unwrap_or_else(|_| panic!("no event within 30 s; so far {got:?} (kick: {kicked})"))
            .expect("session ended");
        f.delivered(&ev).await.expect("record delivery");
        got.push(match &ev {
            GridEvent::Approved { topic } => format!("approved {topic}"),
            GridEvent::Resubscribed { topics } => format!("resubscribed {topics:?}"),
            other => item_id(other),
        });
    }
    assert_eq!(
        got,
        [
            id(0),
            id(1),
            format!("approved {TOPIC}"),
            format!("resubscribed [\"{TOPIC}\"]")
        ],
        "kick: {kicked}"
    );
    publish(&owner, 2..3).await;
    assert_eq!(item_id(&next_followed(&mut f).await), id(2), "then live");
}

/// ejabberd with `tls_verify` asks for client certificates and offers
/// SASL EXTERNAL beside SCRAM (Prosody offers it only on a host whose
/// accounts have no passwords). A certificate naming the account is the
/// whole login; one naming another account is refused, and then a
/// configured password still logs in with SCRAM (RFC 6120 §6.4.5 allows
/// the second attempt) while without one the error names the certificate.
#[tokio::test]
async fn external_on_ejabberd_then_the_password_when_the_certificate_is_refused() {
    let e = common::start_ejabberd(EjabberdOptions {
        tls_verify: true,
        ..Default::default()
    });
    let own =
        e.ca.client_cert(e.dir(), "subscriber", "subscriber@localhost")
            .expect("client certificate");
    let others =
        e.ca.client_cert(e.dir(), "publisher", "publisher@localhost")
            .expect("client certificate");
    let with = |cert: &gridlink::lab::ClientCert, password: &str| {
        let mut c = e.client_config("subscriber", password);
        c.client_cert = Some(cert.chain_pem.clone());
        c.client_key = Some(cert.key_pem.clone());
        c
    };
    let login = |c: gridlink::config::Config| async move {
        gridlink::xmpp::Session::connect(c).await.map(|s| {
            let m = s.mechanism();
            tokio::spawn(async move { s.close().await });
            m
        })
    };

    let m = login(with(&own, ""))
        .await
        .unwrap_or_else(|err| panic!("EXTERNAL on ejabberd: {err}\n{}", tail(&e.log())));
    assert_eq!(m, "EXTERNAL");

    let m = login(with(&others, "subscriber-pw"))
        .await
        .unwrap_or_else(|err| panic!("the password after a refused certificate: {err}"));
    assert_eq!(m, "SCRAM-SHA-256");

    let err = login(with(&others, ""))
        .await
        .expect_err("another account's certificate and no password");
    assert!(
        matches!(
            err,
            gridlink::xmpp::ConnectError::CertificateRejected { .. }
        ),
        "{err:?}"
    );
    // The server's own words reach the user.
    let msg = err.to_string();
    assert!(msg.contains("subscriber@localhost"), "{msg}");
    assert!(msg.contains("Certificate JID mismatch"), "{msg}");

    let m = login(e.client_config("subscriber", "subscriber-pw"))
        .await
        .unwrap_or_else(|err| panic!("a password and no certificate: {err}"));
    assert_eq!(m, "SCRAM-SHA-256");
}
