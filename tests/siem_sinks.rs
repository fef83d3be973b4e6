//! SIEM sinks against real receivers (issue 23): `gridlink subscribe --to`
//! rsyslog over TCP (RFC 6587 octet counting), TLS (RFC 5425, rsyslog's
//! gtls) and UDP, and an HTTP receiver (tests/py/siem_receiver.py) that
//! answers as a plain JSON collector, Splunk HEC and Elasticsearch `_bulk`
//! do — 503s, a per-event refusal, per-item failures. The fault test takes
//! the receivers down for 10 s mid-stream and `kill -9`s the subscriber,
//! then prints sent / received / lost / duplicated per sink.
//!
//! | what | test |
//! |---|---|
//! | every item over syslog TCP, TLS and UDP, structured data, APP-NAME | `syslog_tcp_tls_udp_receive_every_item` |
//! | HTTP JSON, HEC, `_bulk`: 503 retried, refusals dead-lettered, the rest delivered | `http_sinks_retry_and_dead_letter` |
//! | receivers down 10 s, subscriber `kill -9` → 0 lost | `receivers_down_and_subscriber_killed_lose_nothing` |
//! | bridge `[[sink]]`s: `/metrics` per sink, `/healthz` names a sink failing too long | `bridge_sinks_metrics_and_health` |

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::hostile::Proc;
use common::siem::{HttpReceiver, Rsyslog};
use common::{grid, gridlink_async, incident, open_topic, prosody, prosody_with_bridge};
use gridlink::bridge::{Bridge, BridgeOptions};
use gridlink::grid::{Grid, Payload, TopicSelection};
use gridlink::rolie::RolieConfig;
use gridlink::sink::SinkConfig;
use gridlink::store::Store;

async fn publish(g: &Grid, id: &str, n: usize) {
    let payload = Payload::from_prepared(id.to_string(), incident(n)).unwrap();
    g.publish("incidents", &payload).await.unwrap();
}

/// The `itemId` of each RFC 5424 message.
fn syslog_ids(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = &l[l.find("itemId=\"")? + 8..];
            Some(rest[..rest.find('"')?].to_string())
        })
        .collect()
}

/// A subscriber sending to `to`, caught up and waiting.
async fn subscriber(p: &gridlink::lab::Prosody, extra: &[&str], to: &[String]) -> Proc {
    let mut c = gridlink_async(p, "subscriber", "subscriber-pw");
    c.args(["subscribe", "--topic", "incidents"]).args(extra);
    for t in to {
        c.args(["--to", t]);
    }
    c.env("HEC_TOKEN_T", "s3cret-hec");
    let mut sub = Proc::spawn("subscriber", c);
    sub.wait_line(true, Duration::from_secs(30), |l| l.contains("caught up"))
        .await;
    sub
}

/// Waits until `done` holds, or `limit` passed.
async fn until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done()
}

#[tokio::test]
async fn syslog_tcp_tls_udp_receive_every_item() {
    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, "incidents").await;
    let dir = tempfile::tempdir().unwrap();
    let rs = Rsyslog::start(dir.path());
    let to = [
        format!(
            "syslog://127.0.0.1:{}?app_name=gl-test&facility=local3",
            rs.tcp_port
        ),
        format!(
            "syslog+tls://localhost:{}?ca_file={}&hostname=sensor-1",
            rs.tls_port,
            rs.ca.ca_pem.display()
        ),
        format!("syslog+udp://127.0.0.1:{}?max_datagram=600", rs.udp_port),
    ];
    let n = 20;
    let mut sub = subscriber(&p, &["--count", &n.to_string()], &to).await;
    for i in 0..n {
        publish(&publisher, &format!("item-{i}"), 100 + i).await;
    }
    let want: BTreeSet<String> = (0..n).map(|i| format!("item-{i}")).collect();
    let ok = until(Duration::from_secs(30), || {
        ["tcp", "tls", "udp"].iter().all(|w| {
            syslog_ids(&rs.messages(w))
                .into_iter()
                .collect::<BTreeSet<_>>()
                == want
        })
    })
    .await;
    assert!(ok, "not every item arrived: {}", sub.output());
    sub.wait_line(true, Duration::from_secs(10), |l| {
        l.contains("sink syslog+udp")
    })
    .await;

    // TCP: the header as configured, the structured data, the JSON line.
    let tcp = rs.messages("tcp");
    let first = &tcp[0];
    // local3 (19) * 8 + notice (5) = 157.
    assert!(first.starts_with("<157>1 "), "{first}");
    assert!(first.contains(" gl-test "), "{first}");
    assert!(
        first.contains("[gridlink@32473 topic=\"incidents\" itemId=\"item-0\" incidentId=\"100\" incidentIdName=\"csirt.example.com\" purpose=\"reporting\"]"),
        "{first}"
    );
    let json = &first[first.find("] {").unwrap() + 2..];
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["kind"], "item");
    assert_eq!(v["item_id"], "item-0");
    assert_eq!(tcp.len(), n, "no duplicates without a failure");
    // TLS: the configured hostname.
    assert!(rs.messages("tls")[0].contains(" sensor-1 "));
    // UDP: cut to 600 bytes, said in the structured data.
    for m in rs.messages("udp") {
        assert!(m.len() <= 600, "{}", m.len());
        assert!(m.contains("truncated=\"true\"]"), "{m}");
    }
    println!("syslog: {n} items over tcp, tls and udp: all received");
}

#[tokio::test]
async fn http_sinks_retry_and_dead_letter() {
    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, "incidents").await;
    let dir = tempfile::tempdir().unwrap();
    let rx = HttpReceiver::start(dir.path(), "s3cret-hec", 2);
    let to = [
        format!("http://{}/json?batch_size=4&linger_ms=50", rx.base()),
        format!(
            "splunk-hec+http://{}?token_env=HEC_TOKEN_T&sourcetype=iodef&batch_size=5",
            rx.base()
        ),
        format!(
            "elastic+http://{}/gridlink?batch_size=10&linger_ms=100",
            rx.base()
        ),
    ];
    let ids: Vec<String> = (0..12)
        .map(|i| match i {
            5 => "bad-5".to_string(),
            8 => "busy-8".to_string(),
            _ => format!("ok-{i}"),
        })
        .collect();
    let mut sub = subscriber(&p, &["--count", &ids.len().to_string()], &to).await;
    for (i, id) in ids.iter().enumerate() {
        publish(&publisher, id, 200 + i).await;
    }
    // --count: the command ends once every sink has dealt with every item.
    for ep in ["json", "hec", "bulk"] {
        sub.wait_line(true, Duration::from_secs(40), |l| {
            l.contains("gridlink: sink")
                && l.contains(match ep {
                    "json" => "/json",
                    "hec" => "splunk-hec",
                    _ => "elastic",
                })
        })
        .await;
    }
    let got = rx.received();
    let good: BTreeSet<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|i| !i.contains("bad"))
        .collect();
    for ep in ["json", "hec", "bulk"] {
        let seen: BTreeSet<&str> = got
            .iter()
            .filter(|(e, _, k)| e == ep && k == "item")
            .map(|(_, id, _)| id.as_str())
            .collect();
        assert_eq!(seen, good, "{ep}: {}", sub.output());
    }
    // The refused event is in each sink's dead-letter file, with the reason.
    let state = p.dir().join("state");
    let mut dead = BTreeMap::new();
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("dead-letter-") {
            dead.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    assert_eq!(dead.len(), 3, "{dead:?}");
    for (name, text) in &dead {
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "{name}: {text}");
        assert_eq!(lines[0]["event"]["item_id"], "bad-5", "{name}");
        let reason = lines[0]["reason"].as_str().unwrap();
        let expect = if name.contains("elastic") {
            "mapper_parsing_exception"
        } else if name.contains("splunk") {
            "Invalid data format"
        } else {
            "HTTP 400"
        };
        assert!(reason.contains(expect), "{name}: {reason}");
    }
    let out = sub.output();
    for l in out.lines().filter(|l| l.contains("gridlink: sink")) {
        println!("{l}");
        assert!(l.contains("dead-lettered 1"), "{l}");
        assert!(
            !l.contains("failed attempts 0,"),
            "the 503s were retried: {l}"
        );
        assert!(l.contains("behind 0"), "{l}");
    }
}

/// Per sink: (published, received, lost, duplicated).
fn tally(published: &BTreeSet<String>, received: &[String]) -> (usize, usize, usize, usize) {
    let unique: BTreeSet<&String> = received.iter().collect();
    let lost = published.iter().filter(|i| !unique.contains(i)).count();
    (
        published.len(),
        received.len(),
        lost,
        received.len() - unique.len(),
    )
}

#[tokio::test]
async fn receivers_down_and_subscriber_killed_lose_nothing() {
    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, "incidents").await;
    let dir = tempfile::tempdir().unwrap();
    let mut rs = Rsyslog::start(dir.path());
    let mut rx = HttpReceiver::start(dir.path(), "s3cret-hec", 0);
    let to = [
        format!("syslog://127.0.0.1:{}", rs.tcp_port),
        format!(
            "splunk-hec+http://{}?token_env=HEC_TOKEN_T&batch_size=7",
            rx.base()
        ),
        format!(
            "elastic+http://{}/gridlink?batch_size=9&linger_ms=20",
            rx.base()
        ),
    ];
    let mut sub = subscriber(&p, &[], &to).await;
    let mut published = BTreeSet::new();
    let mut n = 0;
    let mut burst = |k: usize| {
        let ids: Vec<String> = (n..n + k).map(|i| format!("f-{i}")).collect();
        n += k;
        ids
    };
    for id in burst(30) {
        publish(&publisher, &id, 300).await;
        published.insert(id);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The receivers go down mid-stream for 10 s…
    rs.stop();
    rx.stop();
    let down = Instant::now();
    for id in burst(30) {
        publish(&publisher, &id, 300).await;
        published.insert(id);
    }
    // … and the subscriber dies (kill -9) with events waiting to be sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sub.stop().await;
    let mut sub = subscriber(&p, &[], &to).await;
    for id in burst(20) {
        publish(&publisher, &id, 300).await;
        published.insert(id);
    }
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(down.elapsed())).await;
    rs.restart();
    rx.restart();
    // kill -9 again while the backlog is being delivered (mid-batch).
    tokio::time::sleep(Duration::from_millis(150)).await;
    sub.stop().await;
    let mut sub = subscriber(&p, &[], &to).await;
    for id in burst(20) {
        publish(&publisher, &id, 300).await;
        published.insert(id);
    }
    let arrived = |ids: Vec<String>| published.iter().all(|i| ids.contains(i));
    let hec = || -> Vec<String> {
        rx.received()
            .into_iter()
            .filter(|r| r.0 == "hec")
            .map(|r| r.1)
            .collect()
    };
    let bulk = || -> Vec<String> {
        rx.received()
            .into_iter()
            .filter(|r| r.0 == "bulk")
            .map(|r| r.1)
            .collect()
    };
    let all = until(Duration::from_secs(60), || {
        arrived(syslog_ids(&rs.messages("tcp"))) && arrived(hec()) && arrived(bulk())
    })
    .await;
    sub.stop().await;
    println!("sink              sent  received  lost  duplicated");
    let mut lost_total = 0;
    for (name, got) in [
        ("syslog tcp", syslog_ids(&rs.messages("tcp"))),
        ("splunk hec", hec()),
        ("elastic _bulk", bulk()),
    ] {
        let (sent, received, lost, dup) = tally(&published, &got);
        println!("{name:<16} {sent:>5} {received:>9} {lost:>5} {dup:>11}");
        lost_total += lost;
        if name.starts_with("elastic") {
            // Written again under the same _id: overwritten, not duplicated.
            println!("{:<16} (its {dup} repeats overwrote their own _id)", "-");
        }
    }
    assert!(all && lost_total == 0, "events lost: {}", sub.output());
}

#[tokio::test]
async fn bridge_sinks_metrics_and_health() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let p = prosody_with_bridge();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, "incidents").await;
    let dir = tempfile::tempdir().unwrap();
    let rx = HttpReceiver::start(dir.path(), "t", 0);
    // Nothing listens on this port: the syslog sink fails from the start.
    let dead = gridlink::lab::free_port().unwrap();
    let sinks = vec![
        SinkConfig::from_url(&format!("elastic+http://{}/idx?linger_ms=0", rx.base())).unwrap(),
        SinkConfig::from_url(&format!("syslog://127.0.0.1:{dead}?failing_after_secs=1")).unwrap(),
    ];
    let store = dir.path().join("bridge.sqlite");
    let bridge = Bridge::start(
        grid(&p, "bridge").await,
        Store::open(&store).unwrap(),
        BridgeOptions {
            topics: TopicSelection::Named(vec!["incidents".into()]),
            rolie: RolieConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..Default::default()
            },
            max_payload: 200 * 1024,
            state_dir: dir.path().join("state").join("poll"),
            sinks,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let base = format!("http://{}", bridge.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bridge.run(async {
        let _ = stopped.await;
    }));
    publish(&publisher, "b-1", 1).await;
    publish(&publisher, "b-2", 2).await;
    let arrived = until(Duration::from_secs(20), || {
        rx.received().iter().filter(|r| r.0 == "bulk").count() == 2
    })
    .await;
    assert!(arrived, "{:?}", rx.received());
    let get = |path: &str| {
        let url = format!("{base}{path}");
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let elastic = format!("elastic+http://{}/idx", rx.base());
    let syslog = format!("syslog://127.0.0.1:{dead}");
    // The receiver records a request before it answers, and the sink counts
    // it once the answer is back: wait for the count (as /healthz is below)
    // rather than read the first snapshot.
    let sent = format!("gridlink_sink_sent_total{{sink=\"{elastic}\"}} 2");
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = get("/metrics").await.1;
        if metrics.contains(&sent) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(metrics.contains(&sent), "{metrics}");
    assert!(metrics.contains(&format!("gridlink_sink_lag_events{{sink=\"{elastic}\"}} 0")));
    assert!(metrics.contains(&format!("gridlink_sink_lag_events{{sink=\"{syslog}\"}} 2")));
    assert!(metrics.contains(&format!("gridlink_sink_sent_total{{sink=\"{syslog}\"}} 0")));
    // Failing for longer than its 1 s: /healthz says which sink and why.
    let mut health = (0, String::new());
    for _ in 0..50 {
        health = get("/healthz").await;
        if health.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(health.0, 503, "{}", health.1);
    let v: serde_json::Value = serde_json::from_str(&health.1).unwrap();
    assert_eq!(v["sinks"]["healthy"], false);
    let detail = v["sinks"]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&syslog) && detail.contains("failing for"),
        "{detail}"
    );
    assert!(!detail.contains("elastic"), "{detail}");
    assert_eq!(v["xmpp"]["healthy"], true);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
