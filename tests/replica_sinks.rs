//! Own-cursor sinks on bridge replicas sharing a PostgreSQL store (issue
//! 25): two replicas, both with the same HTTP (Elasticsearch `_bulk`) sink
//! to one receiver (tests/py/siem_receiver.py). Each grid change is
//! journaled once however many replicas hear it, and the replica holding
//! the sink's lease delivers it: the receiver gets every item once. Then
//! the delivering replica is `kill -9`'d; the other takes the sink over
//! from the shared cursor and delivers what follows, again once each.
//! Prints published / received / lost / duplicated.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::hostile::{client, Proc};
use common::siem::HttpReceiver;
use gridlink::grid::{Grid, Payload};
use gridlink::lab::{Prosody, ProsodyOptions};

const TOPIC: &str = "incidents";

async fn publish(g: &Grid, range: std::ops::Range<usize>) {
    for n in range {
        let payload = Payload::from_prepared(format!("item-{n}"), common::incident(n)).unwrap();
        g.publish(TOPIC, &payload).await.unwrap();
    }
}

/// The item ids the receiver accepted, with how often each came.
fn received(rx: &HttpReceiver) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, id, kind) in rx.received() {
        if kind == "item" {
            *counts.entry(id).or_default() += 1;
        }
    }
    counts
}

/// Prints and returns (lost, duplicated).
fn tally(what: &str, published: usize, got: &BTreeMap<String, usize>) -> (usize, usize) {
    let total: usize = got.values().sum();
    let lost = (0..published)
        .filter(|n| !got.contains_key(&format!("item-{n}")))
        .count();
    let duplicated: usize = got.values().map(|n| n - 1).sum();
    println!(
        "{what}: published {published} / received {total} / lost {lost} / duplicated {duplicated}"
    );
    (lost, duplicated)
}

/// Waits until the receiver has `n` distinct items (or panics with the logs).
async fn wait_for_items(rx: &HttpReceiver, n: usize, procs: &[Option<Proc>; 2]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while received(rx).len() < n {
        if Instant::now() > deadline {
            let logs: Vec<String> = procs
                .iter()
                .flatten()
                .map(|p| format!("--- {}\n{}", p.name, p.output()))
                .collect();
            panic!(
                "the receiver has {} items, not {n}:\n{}",
                received(rx).len(),
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Time for a duplicate to show, if a second replica were to send one.
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// What replica `addr`'s `/metrics` says the sink sent.
async fn sent(addr: SocketAddr, sink: &str) -> u64 {
    let m = client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("gridlink_sink_sent_total{{sink=\"{sink}\"}} ");
    m.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in\n{m}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_deliver_each_item_once_and_take_over() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut opts = ProsodyOptions::default();
    for u in ["bridge0", "bridge1"] {
        opts.users.push((u.into(), format!("{u}-pw")));
    }
    let p: Prosody = common::start_prosody(opts);
    let pg = common::postgres::postgres();
    let url = pg.create_db("sinks").unwrap();
    let publisher = common::grid(&p, "publisher").await;
    common::open_topic(&publisher, TOPIC).await;
    let dir = tempfile::tempdir().unwrap();
    let rx = HttpReceiver::start(dir.path(), "t", 0);
    let sink = format!("elastic+http://{}/idx", rx.base());
    std::fs::write(
        dir.path().join("gridlink.toml"),
        format!(
            "[bridge]\ntopics = [\"{TOPIC}\"]\npublic_url = \"http://rolie.test\"\n\n\
             [[sink]]\ntype = \"http\"\nurl = \"{sink}\"\nlinger_ms = 0\n"
        ),
    )
    .unwrap();
    let addrs =
        [0, 1].map(|_| SocketAddr::from(([127, 0, 0, 1], gridlink::lab::free_port().unwrap())));
    let mut procs: [Option<Proc>; 2] = [None, None];
    for (i, addr) in addrs.iter().enumerate() {
        let user = format!("bridge{i}");
        let mut c = common::gridlink_async(&p, &user, &format!("{user}-pw"));
        c.arg("--config")
            .arg(dir.path().join("gridlink.toml"))
            .arg("--state-dir")
            .arg(dir.path().join(format!("state{i}")))
            .args(["bridge", "--store", &url, "--listen"])
            .arg(addr.to_string());
        let mut proc = Proc::spawn(&format!("replica {i}"), c);
        proc.wait_line(true, Duration::from_secs(60), |l| {
            l.contains("serving ROLIE on ")
        })
        .await;
        procs[i] = Some(proc);
    }

    const FIRST: usize = 30;
    publish(&publisher, 0..FIRST).await;
    wait_for_items(&rx, FIRST, &procs).await;
    assert_eq!(
        tally("two replicas, one sink", FIRST, &received(&rx)),
        (0, 0)
    );
    let by = [sent(addrs[0], &sink).await, sent(addrs[1], &sink).await];
    assert_eq!(by[0] + by[1], FIRST as u64, "sent by the replicas: {by:?}");
    let holder = if by[0] > 0 { 0 } else { 1 };
    assert_eq!(by[1 - holder], 0, "one replica delivers: {by:?}");

    // The delivering replica dies; the other takes the sink over once
    // the lease runs out, from the shared cursor.
    if let Some(mut dead) = procs[holder].take() {
        dead.stop().await;
    }
    const ALL: usize = 60;
    publish(&publisher, FIRST..ALL).await;
    wait_for_items(&rx, ALL, &procs).await;
    assert_eq!(
        tally("holder killed, the other took over", ALL, &received(&rx)),
        (0, 0)
    );
    let survivor = addrs[1 - holder];
    assert_eq!(sent(survivor, &sink).await, (ALL - FIRST) as u64);
}
