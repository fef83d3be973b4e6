//! The ROLIE server's connection handling: the pollers' 304 fast path on
//! the wire, the connection limit, the HTTP/2 stream limit, and both
//! runtime models (own threads, the caller's runtime).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::rolie::*;
use gridlink::rolie::{Hooks, RolieConfig};
use reqwest::header;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(s: &TestServer) -> SocketAddr {
    s.base.trim_start_matches("http://").parse().unwrap()
}

/// Sends `head` (a request without its final blank line) with
/// `Connection: close` and returns the whole response.
async fn raw(addr: SocketAddr, head: &str) -> String {
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), sock.read_to_end(&mut out))
        .await
        .expect("response in time")
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// The response head's lines with the `date` header's value masked.
fn lines(response: &str) -> Vec<String> {
    response
        .split("\r\n")
        .map(|l| match l.split_once(':') {
            Some((k, _)) if k.eq_ignore_ascii_case("date") => "date: *".to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// `/metrics`' counter of responses with `status`.
async fn responses(s: &TestServer, status: u16) -> u64 {
    let text = get_text(&s.url("/metrics")).await;
    let prefix = format!("gridlink_http_requests_total{{status=\"{status}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix)?.parse().ok())
        .unwrap_or(0)
}

/// A revalidation of the first feed page is answered before the router
/// (the page is cached by the first GET), byte for byte as the router
/// answers the same revalidation of a page it handles itself, and counted
/// in `/metrics` like any response; a stale ETag still gets the page, and a
/// change of the topic a new ETag.
#[tokio::test]
async fn feed_revalidation_fast_path() {
    let s = start_filled().await;
    let a = addr(&s);
    let first = get(&s.url("/rolie/feeds/incidents")).await;
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    let lm = first.headers()[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_owned();
    // `?after=0` is not the fast path's: the router answers it. Its page
    // differs, and so does its ETag; the rest of the head must not.
    let after = get(&s.url("/rolie/feeds/incidents?after=0")).await;
    let after_etag = after.headers()[header::ETAG].to_str().unwrap().to_owned();
    let before_304 = responses(&s, 304).await;
    for method in ["GET", "HEAD"] {
        let fast = raw(
            a,
            &format!(
                "{method} /rolie/feeds/incidents HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n"
            ),
        )
        .await;
        let routed = raw(
            a,
            &format!("{method} /rolie/feeds/incidents?after=0 HTTP/1.1\r\nHost: x\r\nIf-None-Match: {after_etag}\r\n"),
        )
        .await;
        assert!(fast.starts_with("HTTP/1.1 304 "), "{fast}");
        assert!(fast.ends_with("\r\n\r\n"), "a 304 has no body: {fast:?}");
        // Nor a Content-Length: `0` would not be the page's length (RFC
        // 9110 §8.6), and hyper sent the router's `0` for a HEAD.
        for r in [&fast, &routed] {
            assert!(
                !r.to_ascii_lowercase().contains("content-length"),
                "{method}: {r}"
            );
        }
        assert_eq!(
            lines(&fast),
            lines(&routed.replace(&after_etag, &etag)),
            "{method}"
        );
        for h in ["etag: ", "last-modified: ", "cache-control: no-cache"] {
            assert!(fast.to_ascii_lowercase().contains(h), "{h} in {fast}");
        }
        let by_date = raw(
            a,
            &format!(
                "{method} /rolie/feeds/incidents HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {lm}\r\n"
            ),
        )
        .await;
        assert_eq!(lines(&by_date), lines(&fast), "{method} If-Modified-Since");
    }
    assert_eq!(
        responses(&s, 304).await,
        before_304 + 6,
        "every 304 counted"
    );

    let stale = client()
        .get(s.url("/rolie/feeds/incidents"))
        .header(header::IF_NONE_MATCH, "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.headers()[header::ETAG], etag.as_str());
    assert!(stale.text().await.unwrap().contains("<entry"));

    s.store
        .put(envelope(
            "incidents",
            "new-one",
            &iodef_examples().remove(0).1,
        ))
        .await
        .unwrap();
    let changed = client()
        .get(s.url("/rolie/feeds/incidents"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200, "a changed topic is not revalidated");
    assert_ne!(changed.headers()[header::ETAG], etag.as_str());
}

/// Beyond `max_connections` open connections a new one is closed at once
/// (and counted), while the open ones keep being served; once one closes,
/// new connections are served again.
#[tokio::test]
async fn connection_limit() {
    let config = RolieConfig {
        max_connections: 2,
        ..base_config()
    };
    let s = start_in(None, config, Hooks::default()).await;
    let a = addr(&s);
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut sock = TcpStream::connect(a).await.unwrap();
        sock.write_all(request).await.unwrap();
        assert!(read_some(&mut sock).await.starts_with("HTTP/1.1 200"));
        held.push(sock);
    }
    let mut extra = TcpStream::connect(a).await.unwrap();
    let _ = extra.write_all(request).await;
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut buf))
        .await
        .expect("the extra connection is closed, not left waiting");
    assert!(
        n.is_err() || buf.is_empty(),
        "the extra connection was served: {}",
        String::from_utf8_lossy(&buf)
    );
    // The held connections still work.
    for sock in &mut held {
        sock.write_all(request).await.unwrap();
        assert!(read_some(sock).await.starts_with("HTTP/1.1 200"));
    }
    // Closing one frees its slot (once the server has seen the close).
    let mut last = held.pop().unwrap();
    drop(held);
    let t = Instant::now();
    let metrics = loop {
        let r = client().get(s.url("/metrics")).send().await;
        if let Ok(r) = r {
            break r.text().await.unwrap();
        }
        assert!(t.elapsed() < Duration::from_secs(5), "no slot freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let refused: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("gridlink_http_connections_refused_total ")?
                .parse()
                .ok()
        })
        .expect("refused counter in /metrics");
    assert!(refused >= 1, "{metrics}");
    last.write_all(request).await.unwrap();
    assert!(read_some(&mut last).await.starts_with("HTTP/1.1 200"));
}

/// Reads whatever arrives first (one small response).
async fn read_some(sock: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
        .await
        .expect("response in time")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// An HTTP/2 client (prior knowledge, as hyper accepts it in clear) is
/// told `http2_max_concurrent_streams` in the server's SETTINGS frame, and
/// an HTTP/2 connection that sends no request is closed after
/// `request_timeout_secs`, as an HTTP/1 one is.
#[tokio::test]
async fn http2_stream_limit_is_announced() {
    let config = RolieConfig {
        http2_max_concurrent_streams: 7,
        request_timeout_secs: 1,
        ..base_config()
    };
    let s = start_in(None, config, Hooks::default()).await;
    let mut sock = TcpStream::connect(addr(&s)).await.unwrap();
    // The connection preface and an empty SETTINGS frame (RFC 9113 §3.4).
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    sock.write_all(&hello).await.unwrap();
    let mut head = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), sock.read_exact(&mut head))
        .await
        .expect("SETTINGS in time")
        .unwrap();
    assert_eq!(head[3], 4, "the server speaks first with SETTINGS");
    let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
    let mut payload = vec![0u8; len];
    sock.read_exact(&mut payload).await.unwrap();
    let settings: Vec<(u16, u32)> = payload
        .chunks_exact(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect();
    // SETTINGS_MAX_CONCURRENT_STREAMS is 0x3.
    assert!(settings.contains(&(3, 7)), "{settings:?}");
    let t = Instant::now();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut rest))
        .await
        .expect("an idle HTTP/2 connection is closed");
    assert!(
        t.elapsed() >= Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
}

/// `server_threads = 0` serves on the caller's runtime, with the same
/// answers (and 1 thread, with its own runtime).
#[tokio::test]
async fn both_runtime_models_serve() {
    for threads in [0, 1, 3] {
        let config = RolieConfig {
            server_threads: Some(threads),
            ..base_config()
        };
        let s = start_in(None, config, Hooks::default()).await;
        let r = get(&s.url("/rolie/servicedocument")).await;
        assert_eq!(r.status(), 200, "{threads} threads");
        let etag = r.headers()[header::ETAG].clone();
        let r = client()
            .get(s.url("/rolie/servicedocument"))
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{threads} threads");
        // Stops within the graceful period, threads and all.
        let t = Instant::now();
        drop(s.stop().await);
        assert!(t.elapsed() < Duration::from_secs(5), "{threads} threads");
    }
}
