//! A polled feed is polled by one replica at a time (issue 25): two
//! `LeasedPoller`s on one PostgreSQL store, one feed; only the lease holder
//! fetches and publishes, and when it stops the other takes over.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::IntoResponse;
use common::{fixture_bytes, VALID};
use gridlink::rolie::poll::{PollClient, Poller};
use gridlink::rolie::{BoxFuture, PublishBody, PublishError, Published, Publisher};
use gridlink::source::leased::LeasedPoller;
use gridlink::source::Source;
use gridlink::store::Store;

/// A publisher that counts what it is given.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Publisher for Recorder {
    fn publish<'a>(
        &'a self,
        _topic: &'a str,
        body: PublishBody,
    ) -> BoxFuture<'a, Result<Published, PublishError>> {
        Box::pin(async move {
            let (PublishBody::Xml(d) | PublishBody::Json(d)) = body;
            let mut docs = self.0.lock().unwrap();
            docs.push(d);
            Ok(format!("item-{}", docs.len()).into())
        })
    }

    fn retract<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async { Ok(()) })
    }
}

impl Recorder {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_polls_a_feed_and_another_takes_over() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let pg = common::postgres::postgres();
    let url = pg.create_db("lease").unwrap();
    // The feed: one entry whose content is a valid incident.
    let app = axum::Router::new()
        .route(
            "/feed",
            axum::routing::get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/atom+xml")],
                    "<feed xmlns='http://www.w3.org/2005/Atom'><id>urn:t</id><title>t</title>\
                     <updated>2026-12-07T00:00:00Z</updated><entry><id>urn:t:1</id><title>1</title>\
                     <updated>2026-12-07T00:00:00Z</updated>\
                     <content type='application/xml' src='/doc'/></entry></feed>",
                )
                    .into_response()
            }),
        )
        .route(
            "/doc",
            axum::routing::get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/xml")],
                    fixture_bytes(VALID[0]),
                )
                    .into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feed = format!("http://{}/feed", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let cfg = gridlink::Config::new(
        "poller@localhost".parse().unwrap(),
        gridlink::config::Secret::new("unused"),
    );
    let clients = PollClient::new(&cfg, vec![]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let interval = Duration::from_millis(300);
    let mut replicas = Vec::new();
    for i in 0..2 {
        let rec = Recorder::default();
        let state = dir.path().join(format!("state{i}"));
        std::fs::create_dir_all(&state).unwrap();
        let poller = Poller::new(
            format!("{feed}=mirror").parse().unwrap(),
            &clients,
            Arc::new(rec.clone()),
            &state,
            interval,
        )
        .unwrap();
        let store = Store::connect(&url).await.unwrap();
        let leased = Box::new(LeasedPoller::new(poller, store, interval));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(leased.run(stopped));
        replicas.push((rec, stop, task));
        // The first one takes the lease before the second asks.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts: Vec<usize> = replicas.iter().map(|r| r.0.count()).collect();
    println!("published by replica 0 / 1 while both run: {counts:?}");
    assert_eq!(counts, vec![1, 0], "only the lease holder polls");

    // The holder stops (and gives the lease up): the other polls.
    let (_, stop, task) = replicas.remove(0);
    stop.send(true).unwrap();
    task.await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while replicas[0].0.count() == 0 {
        assert!(
            Instant::now() < deadline,
            "the second replica never took the lease over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    replicas[0].1.send(true).unwrap();
}
