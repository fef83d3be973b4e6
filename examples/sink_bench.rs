//! Events per second through each SIEM sink, against the stdout JSON-lines
//! path on the same items (issue 23). Every path is the router's: the sink
//! (through `Fanout`: in line for JSON lines; journal + own task + own cursor
//! for the remote sinks), then the grid cursor's acknowledgement in SQLite,
//! per event. The receivers run in this process on 127.0.0.1: a syslog TCP,
//! TLS and UDP reader that counts RFC 6587 frames or datagrams, and an HTTP
//! server answering as a JSON collector, Splunk HEC and `_bulk` do.
//!
//! Usage: `cargo run --release --example sink_bench [-- EVENTS]` (default 20000).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use gridlink::grid::GridEvent;
use gridlink::sink::{Fanout, FanoutOptions, Format, JsonLinesSink, Sink, SinkConfig};
use gridlink::store::{content_hash, Store};
use tokio::io::AsyncReadExt;

fn events(n: usize) -> Vec<GridEvent> {
    (0..n)
        .map(|i| {
            let doc = format!(
                "<IODEF-Document xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\" version=\"2.00\">\
                 <Incident purpose=\"reporting\"><IncidentID name=\"csirt.example.com\">{i}</IncidentID>\
                 <GenerationTime>2026-11-23T09:00:00Z</GenerationTime>\
                 <Contact role=\"creator\" type=\"organization\"><Email><EmailTo>soc@csirt.example.com</EmailTo></Email></Contact>\
                 </Incident></IODEF-Document>"
            );
            let iodef = gridlink::iodef::parse(doc.as_bytes()).ok().map(|d| d.to_json());
            GridEvent::Item {
                envelope: gridlink::Envelope {
                    topic: "incidents".into(),
                    item_id: format!("csirt.example.com:{i}"),
                    publisher: Some("publisher@grid.example/x".into()),
                    received_at: chrono::Utc::now(),
                    delayed_at: None,
                    payload_ns: gridlink::envelope::IODEF_V2_NS.into(),
                    document: doc,
                },
                iodef,
            }
        })
        .collect()
}

/// Reads octet-counted frames on every connection, counting them.
async fn syslog_tcp(count: Arc<AtomicU64>, tls: Option<tokio_rustls::TlsAcceptor>) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let count = count.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let mut s: Box<dyn tokio::io::AsyncRead + Unpin + Send> = match tls {
                    Some(a) => match a.accept(s).await {
                        Ok(t) => Box::new(t),
                        Err(_) => return,
                    },
                    None => Box::new(s),
                };
                let mut buf = Vec::new();
                let mut chunk = vec![0u8; 1 << 16];
                loop {
                    let n = match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    let mut at = 0;
                    while let Some(sp) = buf[at..].iter().position(|b| *b == b' ') {
                        let len: usize = std::str::from_utf8(&buf[at..at + sp])
                            .unwrap()
                            .parse()
                            .unwrap();
                        if buf.len() < at + sp + 1 + len {
                            break;
                        }
                        at += sp + 1 + len;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    buf.drain(..at);
                }
            });
        }
    });
    port
}

async fn syslog_udp(count: Arc<AtomicU64>) -> u16 {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = s.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut b = vec![0u8; 65536];
        while s.recv(&mut b).await.is_ok() {
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    port
}

async fn http(count: Arc<AtomicU64>) -> u16 {
    let c1 = count.clone();
    let c2 = count.clone();
    let c3 = count;
    let app = axum::Router::new()
        .route(
            "/json",
            post(move |body: String| async move {
                let v: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
                c1.fetch_add(v.len() as u64, Ordering::Relaxed);
                "{}"
            }),
        )
        .route(
            "/services/collector/event",
            post(move |body: String| async move {
                let n = serde_json::Deserializer::from_str(&body)
                    .into_iter::<serde_json::Value>()
                    .count();
                c2.fetch_add(n as u64, Ordering::Relaxed);
                r#"{"text":"Success","code":0}"#
            }),
        )
        .route(
            "/_bulk",
            post(move |body: String| async move {
                let n = body.lines().filter(|l| l.starts_with("{\"index\"")).count();
                c3.fetch_add(n as u64, Ordering::Relaxed);
                r#"{"took":1,"errors":false,"items":[]}"#
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await });
    port
}

/// Runs `evs` through one sink as the router does; events/s.
async fn run(
    name: &str,
    sink: Box<dyn Sink>,
    evs: &[GridEvent],
    received: Option<&AtomicU64>,
) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state.sqlite")).unwrap();
    let opts = FanoutOptions {
        dead_letter_dir: dir.path().to_path_buf(),
        backoff: Default::default(),
    };
    let mut f = Fanout::start(vec![sink], &store, opts).await.unwrap();
    let t0 = Instant::now();
    for ev in evs {
        f.deliver(ev).await.unwrap();
        if let GridEvent::Item { envelope, .. } = ev {
            let h = content_hash(&envelope.document);
            store
                .mark_delivered(&envelope.topic, &envelope.item_id, &h)
                .await
                .unwrap();
        }
    }
    assert!(
        f.flush(Duration::from_secs(600)).await,
        "{name} did not finish"
    );
    let secs = t0.elapsed().as_secs_f64();
    if let Some(r) = received {
        // What was acknowledged has arrived (UDP: sent; may be dropped).
        let deadline = Instant::now() + Duration::from_secs(5);
        while r.load(Ordering::Relaxed) < evs.len() as u64 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        println!("{name}: receiver counted {}", r.load(Ordering::Relaxed));
    }
    f.close().await;
    evs.len() as f64 / secs
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let evs = events(n);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ca")).unwrap();
    let ca = gridlink::lab::TestCa::generate(&dir.path().join("ca"), &["localhost"]).unwrap();
    let server = {
        let chain: Vec<_> =
            rustls_pemfile::certs(&mut std::fs::read(&ca.server_chain_pem).unwrap().as_slice())
                .collect::<Result<_, _>>()
                .unwrap();
        let key =
            rustls_pemfile::private_key(&mut std::fs::read(&ca.server_key_pem).unwrap().as_slice())
                .unwrap()
                .unwrap();
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let cfg = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
    };
    let devnull = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .unwrap();
    let base = run(
        "json_lines",
        Box::new(JsonLinesSink::to_writer(Box::new(devnull), Format::Json)),
        &evs,
        None,
    )
    .await;
    println!("{n} items, release: {}", !cfg!(debug_assertions));
    println!("| path | events/s | ÷ stdout JSON lines |\n|---|---|---|");
    println!("| stdout JSON lines (to /dev/null) | {base:.0} | 1.00× |");
    let tcp_n = Arc::new(AtomicU64::new(0));
    let tls_n = Arc::new(AtomicU64::new(0));
    let udp_n = Arc::new(AtomicU64::new(0));
    let http_n = Arc::new(AtomicU64::new(0));
    let tcp = syslog_tcp(tcp_n.clone(), None).await;
    let tls = syslog_tcp(tls_n.clone(), Some(server)).await;
    let udp = syslog_udp(udp_n.clone()).await;
    let web = http(http_n.clone()).await;
    let ca_q = format!("ca_file={}", ca.ca_pem.display());
    let cases = [
        (
            "syslog:// (TCP)",
            format!("syslog://127.0.0.1:{tcp}"),
            &tcp_n,
        ),
        (
            "syslog+tls://",
            format!("syslog+tls://localhost:{tls}?{ca_q}"),
            &tls_n,
        ),
        (
            "syslog+udp://",
            format!("syslog+udp://127.0.0.1:{udp}?max_datagram=8192"),
            &udp_n,
        ),
        (
            "http:// JSON array",
            format!("http://127.0.0.1:{web}/json?linger_ms=5"),
            &http_n,
        ),
        (
            "splunk-hec+http://",
            format!("splunk-hec+http://127.0.0.1:{web}?linger_ms=5&token_env=PATH"),
            &http_n,
        ),
        (
            "elastic+http:// _bulk",
            format!("elastic+http://127.0.0.1:{web}/gridlink?linger_ms=5"),
            &http_n,
        ),
    ];
    for (name, url, count) in cases {
        count.store(0, Ordering::Relaxed);
        let sink = SinkConfig::from_url(&url).unwrap().build().unwrap();
        let r = run(name, sink, &evs, Some(count)).await;
        println!("| {name} | {r:.0} | {:.2}× |", r / base);
    }
}
