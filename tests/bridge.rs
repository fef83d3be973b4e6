//! `gridlink bridge` end to end: real Prosody, gridlink and slixmpp peers,
//! HTTP through reqwest.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{fixture, fixture_bytes, prosody_with_bridge, VALID};
use gridlink::bridge::{Bridge, BridgeOptions};
use gridlink::grid::{Affiliation, Grid, GridEvent, Payload, TopicOptions, TopicSelection};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::Prosody;
use gridlink::rolie::RolieConfig;
use gridlink::store::Store;

async fn join(p: &Prosody, user: &str) -> Grid {
    Grid::connect(p.client_config(user, &format!("{user}-pw")))
        .await
        .unwrap()
}

/// An open topic the `bridge` account may publish to.
async fn topic(publisher: &Grid, node: &str) {
    publisher
        .create_topic(
            node,
            &TopicOptions {
                access_model: gridlink::grid::AccessModel::Open,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    publisher
        .set_affiliation(
            node,
            &"bridge@localhost".parse().unwrap(),
            Affiliation::Publisher,
        )
        .await
        .unwrap();
}

struct Running {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _tokens: tempfile::NamedTempFile,
}

impl Running {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(15), &mut self.task).await;
    }
}

async fn start_bridge(p: &Prosody, store: &std::path::Path, topics: &[&str]) -> Running {
    start_bridge_polling(p, store, topics, Vec::new()).await
}

async fn start_bridge_polling(
    p: &Prosody,
    store: &std::path::Path,
    topics: &[&str],
    poll: Vec<gridlink::rolie::poll::PollSource>,
) -> Running {
    start_bridge_with(
        p,
        store,
        named(topics),
        poll,
        gridlink::iodef::Redaction::new(),
    )
    .await
}

fn named(topics: &[&str]) -> TopicSelection {
    TopicSelection::Named(topics.iter().map(|s| s.to_string()).collect())
}

async fn start_bridge_with(
    p: &Prosody,
    store: &std::path::Path,
    topics: TopicSelection,
    poll: Vec<gridlink::rolie::poll::PollSource>,
    redaction: gridlink::iodef::Redaction,
) -> Running {
    start_bridge_on(join(p, "bridge").await, store, topics, poll, redaction).await
}

/// A bridge over `grid` (joined by the caller, with its own settings).
async fn start_bridge_on(
    grid: Grid,
    store: &std::path::Path,
    topics: TopicSelection,
    poll: Vec<gridlink::rolie::poll::PollSource>,
    redaction: gridlink::iodef::Redaction,
) -> Running {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let tokens = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tokens.path(), "s3cret-token\n").unwrap();
    let rolie = RolieConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        write_token_file: Some(tokens.path().to_owned()),
        ..Default::default()
    };
    let bridge = Bridge::start(
        grid,
        Store::open(store).unwrap(),
        BridgeOptions {
            topics,
            rolie,
            ingest_validation: ValidationLevel::Basic,
            publish_validation: ValidationLevel::Strict,
            max_payload: 200 * 1024,
            redaction,
            poll,
            poll_csaf: Vec::new(),
            csaf_keys: Vec::new(),
            poll_allow: Vec::new(),
            poll_interval: Duration::from_millis(500),
            state_dir: store.with_extension("poll"),
            outbox: Default::default(),
            confirm_wait: gridlink::bridge::DEFAULT_CONFIRM_WAIT,
            catch_up_page: gridlink::durable::CATCH_UP_PAGE,
            sinks: Vec::new(),
        },
    )
    .await
    .unwrap();
    let base = format!("http://{}", bridge.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        bridge
            .run(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    Running {
        base,
        stop: Some(tx),
        task,
        _tokens: tokens,
    }
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Polls the feed until it mentions `needle`.
async fn feed_contains(base: &str, topic: &str, needle: &str) -> String {
    let url = format!("{base}/rolie/feeds/{topic}");
    for _ in 0..100 {
        let (s, body) = get(&url).await;
        if s == 200 && body.contains(needle) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{needle} never appeared in {url}");
}

/// An item id as it appears in URLs (one percent-encoded path segment).
fn enc(id: &str) -> String {
    id.replace(':', "%3A")
}

fn payload(rel: &str) -> Payload {
    Payload::prepare(&fixture_bytes(rel), ValidationLevel::Strict, 1 << 20).unwrap()
}

/// Items published before the bridge started (catch-up) and after (live)
/// are both served, with the IODEF XML intact and its JSON form.
#[tokio::test]
async fn serves_catch_up_and_live_items_intact() {
    let p = prosody_with_bridge();
    let publisher = join(&p, "publisher").await;
    topic(&publisher, "incidents").await;
    let before = payload(VALID[0]);
    publisher.publish("incidents", &before).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = start_bridge(&p, &dir.path().join("s.sqlite"), &["incidents"]).await;
    feed_contains(&b.base, "incidents", &enc(&before.item_id)).await;
    let live = payload(VALID[1]);
    publisher.publish("incidents", &live).await.unwrap();
    feed_contains(&b.base, "incidents", &enc(&live.item_id)).await;
    let (s, xml) = get(&format!(
        "{}/rolie/feeds/incidents/entries/{}/iodef.xml",
        b.base,
        enc(&live.item_id)
    ))
    .await;
    assert_eq!(s, 200);
    let sent: tokio_xmpp::minidom::Element = live.xml.parse().unwrap();
    let served: tokio_xmpp::minidom::Element = xml
        .trim_start_matches(|c| c != '<')
        .parse()
        .unwrap_or_else(|_| {
            // a leading XML declaration is allowed on the HTTP side
            xml[xml.find("?>").map(|i| i + 2).unwrap_or(0)..]
                .trim()
                .parse()
                .unwrap()
        });
    assert_eq!(sent, served);
    let (s, json) = get(&format!(
        "{}/rolie/feeds/incidents/entries/{}/iodef.json",
        b.base,
        enc(&live.item_id)
    ))
    .await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v.get("Incident").is_some(), "{json}");
    let (s, health) = get(&format!("{}/healthz", b.base)).await;
    assert_eq!(s, 200, "{health}");
    let (_, metrics) = get(&format!("{}/metrics", b.base)).await;
    assert!(
        metrics.contains("gridlink_items_in_total{topic=\"incidents\"} 2"),
        "{metrics}"
    );
    b.stop().await;
}

/// An authenticated POST is published to the grid (a slixmpp subscriber
/// receives it) and answered 201 with a Location that resolves; invalid
/// documents get 400, missing tokens 401; DELETE retracts on the grid.
#[tokio::test]
async fn post_reaches_grid_and_delete_retracts() {
    let p = prosody_with_bridge();
    let publisher = join(&p, "publisher").await;
    topic(&publisher, "incidents").await;
    let dir = tempfile::tempdir().unwrap();
    let b = start_bridge(&p, &dir.path().join("s.sqlite"), &["incidents"]).await;

    // An independent consumer: slixmpp.
    let mut slix = common::peer(&p, "subscribe", "subscriber")
        .args(["--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(slix.stdout.take().unwrap()).lines();
    let ready = tokio::task::spawn_blocking(move || (lines.next(), lines))
        .await
        .unwrap();
    assert_eq!(ready.0.and_then(Result::ok).as_deref(), Some("READY"));
    let mut lines = ready.1;
    // And a gridlink one, to see the retraction.
    let watcher = join(&p, "subscriber").await;
    let mut events = watcher
        .subscribe(
            TopicSelection::Named(vec!["incidents".into()]),
            ValidationLevel::Basic,
        )
        .await
        .unwrap();

    let client = reqwest::Client::new();
    let url = format!("{}/rolie/feeds/incidents", b.base);
    let body = fixture_bytes(VALID[2]);
    let r = client
        .post(&url)
        .header("content-type", "application/xml")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "no token");
    let r = client
        .post(&url)
        .bearer_auth("s3cret-token")
        .header("content-type", "application/xml")
        .body("<IODEF-Document xmlns='urn:ietf:params:xml:ns:iodef-2.0' version='2.00'/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "invalid IODEF");
    let r = client
        .post(&url)
        .bearer_auth("s3cret-token")
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let (s, _) = get(&location).await;
    assert_eq!(s, 200, "Location {location} does not resolve");

    let got = tokio::task::spawn_blocking(move || lines.next())
        .await
        .unwrap();
    let got: serde_json::Value = serde_json::from_str(&got.unwrap().unwrap()).unwrap();
    let id = got["id"].as_str().unwrap().to_string();
    assert!(location.ends_with(&enc(&id)), "{location} vs {id}");
    assert!(slix.wait().unwrap().success());

    // The item notification reaches the gridlink watcher too, then DELETE.
    let first = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(first, GridEvent::Item { .. }), "{first:?}");
    let r = client
        .delete(&location)
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    match tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .unwrap()
        .unwrap()
    {
        GridEvent::Retract { item_id, .. } => assert_eq!(item_id, id),
        other => panic!("expected a retraction, got {other:?}"),
    }
    // Again: the broker no longer has it, which is 404 "no such item", not
    // "unknown topic".
    let r = client
        .delete(&location)
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body = r.text().await.unwrap();
    assert!(body.contains("no such item"), "{body}");
    b.stop().await;
}

/// After a restart the bridge serves what it served before plus what was
/// published while it was away, each exactly once.
#[tokio::test]
async fn restart_catches_up_without_duplicates() {
    let p = prosody_with_bridge();
    let publisher = join(&p, "publisher").await;
    topic(&publisher, "incidents").await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.sqlite");
    let first = payload(VALID[0]);
    publisher.publish("incidents", &first).await.unwrap();
    let b = start_bridge(&p, &store, &["incidents"]).await;
    feed_contains(&b.base, "incidents", &enc(&first.item_id)).await;
    b.stop().await;
    let away = payload(VALID[3]);
    publisher.publish("incidents", &away).await.unwrap();
    publisher.publish("incidents", &first).await.unwrap(); // same content again
    let b = start_bridge(&p, &store, &["incidents"]).await;
    let feed = feed_contains(&b.base, "incidents", &enc(&away.item_id)).await;
    assert_eq!(feed.matches("<entry").count(), 2, "{feed}");
    b.stop().await;
}

/// A bridge following every IODEF topic (`--all-iodef`) follows and serves
/// a topic created while it runs once a new session discovers it (the
/// selection is not frozen at start).
#[tokio::test]
async fn all_iodef_bridge_follows_a_topic_created_later() {
    let mut p = prosody_with_bridge();
    let publisher = join(&p, "publisher").await;
    topic(&publisher, "first").await;
    let dir = tempfile::tempdir().unwrap();
    let b = start_bridge_with(
        &p,
        &dir.path().join("a.sqlite"),
        TopicSelection::AllIodef,
        Vec::new(),
        gridlink::iodef::Redaction::new(),
    )
    .await;
    topic(&publisher, "second").await;
    publisher.close().await;
    // A new session for the bridge: Prosody restarted (SQL storage keeps
    // the nodes); the bridge reconnects on its own.
    p.start_again().unwrap();
    let publisher = join(&p, "publisher").await;
    let doc = payload(VALID[0]);
    publisher.publish("second", &doc).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let url = format!("{}/rolie/feeds/second", b.base);
    loop {
        let (status, body) = get(&url).await;
        if status == 200 && body.contains(&enc(&doc.item_id)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the topic created later never served its item: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.stop().await;
}

/// A topic created while an `--all-iodef` bridge runs is found by the
/// periodic discovery (no new session needed): served at once, empty, and
/// listed in the service document, and POSTs to it are accepted.
#[tokio::test]
async fn all_iodef_bridge_serves_a_topic_found_by_rediscovery() {
    let p = prosody_with_bridge();
    let publisher = join(&p, "publisher").await;
    topic(&publisher, "first").await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = p.client_config("bridge", "bridge-pw");
    cfg.rediscover_every = Some(Duration::from_millis(500));
    let grid = Grid::connect(cfg).await.unwrap();
    let b = start_bridge_on(
        grid,
        &dir.path().join("a.sqlite"),
        TopicSelection::AllIodef,
        Vec::new(),
        gridlink::iodef::Redaction::new(),
    )
    .await;
    let url = format!("{}/rolie/feeds/second", b.base);
    let (status, _) = get(&url).await;
    assert_eq!(status, 404, "not a topic yet");
    topic(&publisher, "second").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = get(&url).await;
        if status == 200 {
            assert!(!body.contains("<entry"), "{body}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the topic found by rediscovery is never served: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, service) = get(&format!("{}/rolie/servicedocument", b.base)).await;
    assert!(service.contains("/rolie/feeds/second"), "{service}");
    let r = reqwest::Client::new()
        .post(&url)
        .bearer_auth("s3cret-token")
        .header("content-type", "application/xml")
        .body(fixture_bytes(VALID[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "POST to the new topic");
    b.stop().await;
}

/// Waits until `metric` (a full Prometheus line prefix) reaches `want`.
async fn metric_reaches(base: &str, metric: &str, want: u64) -> String {
    for _ in 0..150 {
        let (_, m) = get(&format!("{base}/metrics")).await;
        let v = m
            .lines()
            .find(|l| l.starts_with(metric))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        if v >= want {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{metric} never reached {want}");
}

/// A second bridge polls the first one's ROLIE feed and publishes the
/// entries into another topic; after a restart it publishes nothing again.
#[tokio::test]
async fn second_bridge_polls_first_into_another_topic() {
    let p = prosody_with_bridge();
    let publisher = join(&p, "publisher").await;
    topic(&publisher, "incidents").await;
    topic(&publisher, "mirror").await;
    for f in &VALID[..3] {
        publisher.publish("incidents", &payload(f)).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let a = start_bridge(&p, &dir.path().join("a.sqlite"), &["incidents"]).await;
    let source: gridlink::rolie::poll::PollSource =
        format!("{}/rolie/feeds/incidents=mirror", a.base)
            .parse()
            .unwrap();
    let b_store = dir.path().join("b.sqlite");
    let b = start_bridge_polling(&p, &b_store, &["mirror"], vec![source.clone()]).await;
    let published = "gridlink_poll_published_total{source=";
    metric_reaches(&b.base, published, 3).await;
    // B serves the mirror topic it fed (its own subscription stored them).
    for f in &VALID[..3] {
        feed_contains(&b.base, "mirror", &enc(&payload(f).item_id)).await;
    }
    let items = publisher
        .items("mirror", None, None, ValidationLevel::Basic)
        .await
        .unwrap();
    assert_eq!(items.len(), 3);
    b.stop().await;

    // Restart B: the feed is unchanged (304 or all entries seen): nothing republished.
    let b = start_bridge_polling(&p, &b_store, &["mirror"], vec![source]).await;
    let m = metric_reaches(&b.base, "gridlink_poll_not_modified_total{source=", 2).await;
    let line = m.lines().find(|l| l.starts_with(published)).unwrap();
    assert!(line.ends_with(" 0"), "republished after restart: {line}");
    b.stop().await;
    a.stop().await;
}

/// slixmpp (a client we did not write) publishes; the bridge serves the
/// document intact (Python C14N of what slixmpp sent == of what is served)
/// and the reconnect counter is exported.
#[tokio::test]
async fn slixmpp_publishes_bridge_serves_intact() {
    let p = prosody_with_bridge();
    let publisher = join(&p, "publisher").await;
    topic(&publisher, "incidents").await;
    let dir = tempfile::tempdir().unwrap();
    let b = start_bridge(&p, &dir.path().join("s.sqlite"), &["incidents"]).await;
    let out = common::peer(&p, "publish", "publisher")
        .arg(fixture(VALID[3]))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    let id = sent["id"].as_str().unwrap();
    feed_contains(&b.base, "incidents", &enc(id)).await;
    let (s, served) = get(&format!(
        "{}/rolie/feeds/incidents/entries/{}/iodef.xml",
        b.base,
        enc(id)
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        common::c14n(&served),
        common::c14n(sent["sent"].as_str().unwrap())
    );
    let (_, metrics) = get(&format!("{}/metrics", b.base)).await;
    assert!(
        metrics.contains("gridlink_xmpp_reconnects_total 0"),
        "{metrics}"
    );
    b.stop().await;
}

/// A purge on the grid empties the topic's feed (each item leaving a
/// tombstone, as a retraction does) and the entries answer 404; so does
/// deleting the topic. Before, both notifications were only logged and the
/// feed kept serving what the broker no longer had.
#[tokio::test]
async fn purge_and_topic_deletion_empty_the_feed() {
    let p = prosody_with_bridge();
    let publisher = join(&p, "publisher").await;
    topic(&publisher, "purged").await;
    topic(&publisher, "deleted").await;
    let dir = tempfile::tempdir().unwrap();
    let b = start_bridge(&p, &dir.path().join("s.sqlite"), &["purged", "deleted"]).await;
    let (one, two) = (payload(VALID[0]), payload(VALID[1]));
    for t in ["purged", "deleted"] {
        publisher.publish(t, &one).await.unwrap();
        publisher.publish(t, &two).await.unwrap();
        feed_contains(&b.base, t, &enc(&one.item_id)).await;
        feed_contains(&b.base, t, &enc(&two.item_id)).await;
    }
    publisher.purge_topic("purged").await.unwrap();
    publisher.delete_topic("deleted").await.unwrap();
    for t in ["purged", "deleted"] {
        let url = format!("{}/rolie/feeds/{t}", b.base);
        let mut body = String::new();
        for _ in 0..100 {
            body = get(&url).await.1;
            if !body.contains("<entry") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!body.contains("<entry"), "{t}: entries left:\n{body}");
        assert_eq!(
            body.matches("<at:deleted-entry ").count(),
            2,
            "{t}: one tombstone per item expected:\n{body}"
        );
        for id in [&one.item_id, &two.item_id] {
            let (s, _) = get(&format!("{url}/entries/{}", enc(id))).await;
            assert_eq!(s, 404, "{t}: entry {id} still served");
        }
    }
    b.stop().await;
}

/// A small web server the test controls: `/feed` lists three entries
/// (newest first) whose second one's content answers 404; `/busy` answers
/// 503 with `Retry-After: 3` and records when it was asked.
async fn stub_feed_server() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
) {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let docs = [
        String::from_utf8(fixture_bytes(VALID[0])).unwrap(),
        String::from_utf8(fixture_bytes(VALID[1])).unwrap(),
    ];
    let busy = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let asked = busy.clone();
    let entry = |n: u32| {
        format!(
            "<entry><id>urn:stub:{n}</id><title>{n}</title><updated>2026-11-0{n}T00:00:00Z</updated>\
             <content type='application/xml' src='/doc/{n}'/></entry>"
        )
    };
    let feed = format!(
        "<feed xmlns='http://www.w3.org/2005/Atom'><id>urn:stub</id><title>stub</title>\
         <updated>2026-11-03T00:00:00Z</updated>{}{}{}</feed>",
        entry(3),
        entry(2),
        entry(1)
    );
    let app = axum::Router::new()
        .route(
            "/feed",
            axum::routing::get(move || {
                let feed = feed.clone();
                async move { ([(header::CONTENT_TYPE, "application/atom+xml")], feed) }
            }),
        )
        .route(
            "/doc/{n}",
            axum::routing::get(move |axum::extract::Path(n): axum::extract::Path<u32>| {
                let docs = docs.clone();
                async move {
                    match n {
                        1 => docs[0].clone().into_response(),
                        3 => docs[1].clone().into_response(),
                        _ => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        )
        .route(
            "/busy",
            axum::routing::get(move || {
                if let Ok(mut t) = asked.lock() {
                    t.push(std::time::Instant::now());
                }
                async {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [(header::RETRY_AFTER, "3")],
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, busy)
}

/// The poller skips (and counts) an entry whose content is gone (404)
/// instead of failing every round on it, which held back every newer entry
/// for good; and a source that answers 503 with `Retry-After: 3` is not
/// asked again sooner (the poller's own backoff would ask after 1 s).
#[tokio::test]
async fn poller_skips_gone_content_and_honours_retry_after() {
    let p = prosody_with_bridge();
    let publisher = join(&p, "publisher").await;
    topic(&publisher, "mirror").await;
    let (web, busy) = stub_feed_server().await;
    let sources = ["feed", "busy"].map(|path| {
        format!("{web}/{path}=mirror")
            .parse::<gridlink::rolie::poll::PollSource>()
            .unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let b = start_bridge_polling(
        &p,
        &dir.path().join("b.sqlite"),
        &["mirror"],
        sources.to_vec(),
    )
    .await;
    let feed = format!("{{source=\"{web}/feed\",topic=\"mirror\"}}");
    metric_reaches(&b.base, &format!("gridlink_poll_published_total{feed}"), 2).await;
    let m = metric_reaches(&b.base, &format!("gridlink_poll_skipped_total{feed}"), 1).await;
    assert!(
        m.contains(&format!("gridlink_poll_errors_total{feed} 0")),
        "the 404 failed a round: {m}"
    );
    let items = publisher
        .items("mirror", None, None, ValidationLevel::Basic)
        .await
        .unwrap();
    assert_eq!(items.len(), 2, "entries 1 and 3 published");

    // The busy source: a first request, then the next no sooner than 3 s.
    for _ in 0..100 {
        if busy.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let asked = busy.lock().unwrap().clone();
    assert!(asked.len() >= 2, "asked {} times in 10 s", asked.len());
    let gap = asked[1] - asked[0];
    assert!(
        gap >= Duration::from_millis(2900),
        "asked again after {gap:?}"
    );
    b.stop().await;
}

/// A bridge told to share only partner-level information (`--share
/// green`) leaves the private parts of a POSTed document out before
/// publishing it: the broker never gets them.
#[tokio::test]
async fn posted_documents_are_redacted_before_publishing() {
    let p = prosody_with_bridge();
    let publisher = join(&p, "publisher").await;
    topic(&publisher, "incidents").await;
    let dir = tempfile::tempdir().unwrap();
    let b = start_bridge_with(
        &p,
        &dir.path().join("r.sqlite"),
        named(&["incidents"]),
        Vec::new(),
        gridlink::iodef::Redaction::new().share(["green"]).unwrap(),
    )
    .await;
    let doc = fixture_bytes(common::MARKED);
    let r = reqwest::Client::new()
        .post(format!("{}/rolie/feeds/incidents", b.base))
        .bearer_auth("s3cret-token")
        .header("content-type", "application/xml")
        .body(doc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let items = publisher
        .items("incidents", None, None, ValidationLevel::Basic)
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    let GridEvent::Item { envelope, .. } = &items[0] else {
        panic!("{:?}", items[0]);
    };
    assert!(
        envelope.document.contains("marked-1"),
        "{}",
        envelope.document
    );
    assert!(
        !envelope.document.contains("internal notes"),
        "{}",
        envelope.document
    );
    b.stop().await;
}
