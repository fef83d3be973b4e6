//! Who may read and write the repository: read-only tokens, per-topic
//! scopes, the case-insensitive `Bearer` scheme, the back-off after wrong
//! tokens, the per-address connection cap, and the headers that keep a
//! browser from running what a grid member published.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::rolie::*;
use gridlink::rolie::{Hooks, RolieConfig};
use reqwest::{header, Method};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A server over topics `t1` (one item) and `t2` (one item) whose reads
/// need a token: write tokens `writer` (every topic) and `w1` (`t1`),
/// read tokens `reader` (every topic) and `r2` (`t2`).
async fn locked() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let write = dir.path().join("write-tokens");
    let read = dir.path().join("read-tokens");
    std::fs::write(&write, "# writers\nwriter\nw1 t1\n").unwrap();
    std::fs::write(&read, "reader\nr2 t2\n").unwrap();
    let config = RolieConfig {
        write_token_file: Some(write),
        read_token_file: Some(read),
        ..base_config()
    };
    let s = start_in(Some(dir), config, Hooks::default()).await;
    let (_, doc) = &iodef_examples()[0];
    for topic in ["t1", "t2"] {
        s.store.put(envelope(topic, "a", doc)).await.unwrap();
    }
    s
}

async fn status(s: &TestServer, method: Method, path: &str, auth: Option<&str>) -> u16 {
    let mut r = client().request(method.clone(), s.url(path));
    if let Some(a) = auth {
        r = r.header(header::AUTHORIZATION, a);
    }
    if method == Method::POST {
        r = r
            .header(header::CONTENT_TYPE, "application/xml")
            .body(iodef_examples()[0].1.clone());
    }
    r.send().await.unwrap().status().as_u16()
}

/// A read token reads (setting the file alone makes reads need a token)
/// but never writes; a write token does both.
#[tokio::test]
async fn read_tokens_read_and_only_read() {
    let s = locked().await;
    let get = Method::GET;
    assert_eq!(status(&s, get.clone(), "/rolie/feeds/t1", None).await, 401);
    for path in [
        "/rolie/servicedocument",
        "/rolie/feeds/t1",
        "/rolie/feeds/t1/entries/a",
        "/rolie/feeds/t1/entries/a/iodef.xml",
        "/metrics",
    ] {
        assert_eq!(
            status(&s, get.clone(), path, Some("Bearer reader")).await,
            200,
            "{path}"
        );
        assert_eq!(
            status(&s, get.clone(), path, Some("Bearer writer")).await,
            200,
            "{path}"
        );
    }
    let post = Method::POST;
    let del = Method::DELETE;
    assert_eq!(
        status(&s, post.clone(), "/rolie/feeds/t1", Some("Bearer reader")).await,
        403
    );
    assert_eq!(
        status(
            &s,
            del.clone(),
            "/rolie/feeds/t1/entries/a",
            Some("Bearer reader")
        )
        .await,
        403
    );
    assert!(s.publisher.calls.lock().unwrap().is_empty());
    assert_eq!(
        status(&s, post, "/rolie/feeds/t1", Some("Bearer writer")).await,
        201
    );
    assert_eq!(
        status(&s, del, "/rolie/feeds/t1/entries/a", Some("Bearer writer")).await,
        200
    );
}

/// A scoped token reads and writes only its topics, sees only them in
/// the service document, and may not read `/metrics`.
#[tokio::test]
async fn scoped_tokens_stay_in_their_topics() {
    let s = locked().await;
    let get = Method::GET;
    let r2 = Some("Bearer r2");
    assert_eq!(status(&s, get.clone(), "/rolie/feeds/t2", r2).await, 200);
    for path in [
        "/rolie/feeds/t1",
        "/rolie/feeds/t1/entries/a",
        "/rolie/feeds/t1/entries/a/iodef.xml",
        "/rolie/feeds/t1/archive/0",
        "/metrics",
    ] {
        assert_eq!(status(&s, get.clone(), path, r2).await, 403, "{path}");
    }
    let service = client()
        .get(s.url("/rolie/servicedocument"))
        .bearer_auth("r2")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = Node::parse(&service);
    let hrefs: Vec<&str> = doc
        .all(APP, "workspace")
        .iter()
        .flat_map(|w| w.all(APP, "collection"))
        .map(|c| c.attr("href"))
        .collect();
    assert_eq!(hrefs.len(), 1, "{service}");
    assert!(hrefs[0].ends_with("/rolie/feeds/t2"), "{service}");

    // A revalidation of a cached page (the 304 fast path) checks the scope
    // as the router does.
    let page = client()
        .get(s.url("/rolie/feeds/t1"))
        .bearer_auth("reader")
        .send()
        .await
        .unwrap();
    let etag = page.headers()[header::ETAG].to_str().unwrap().to_owned();
    for (token, want) in [("reader", 304), ("r2", 403)] {
        let r = client()
            .get(s.url("/rolie/feeds/t1"))
            .bearer_auth(token)
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{token}");
    }

    let w1 = Some("Bearer w1");
    assert_eq!(status(&s, get.clone(), "/rolie/feeds/t1", w1).await, 200);
    assert_eq!(status(&s, get, "/rolie/feeds/t2", w1).await, 403);
    assert_eq!(status(&s, Method::POST, "/rolie/feeds/t2", w1).await, 403);
    assert_eq!(status(&s, Method::POST, "/rolie/feeds/t1", w1).await, 201);
}

/// RFC 9110 §11.1: the scheme name is case-insensitive.
#[tokio::test]
async fn bearer_scheme_in_any_case() {
    let s = start_filled().await;
    for auth in [
        "BEARER secret-token",
        "bEaReR secret-token",
        "Bearer   secret-token",
    ] {
        assert_eq!(
            status(&s, Method::POST, "/rolie/feeds/incidents", Some(auth)).await,
            201,
            "{auth}"
        );
    }
    assert_eq!(
        status(
            &s,
            Method::POST,
            "/rolie/feeds/incidents",
            Some("Basic secret-token")
        )
        .await,
        401
    );
}

/// The IODEF and JSON content of an item is a grid member's document:
/// served with `nosniff` and a sandboxing CSP.
#[tokio::test]
async fn item_content_is_sandboxed() {
    let s = start_filled().await;
    let entry = "/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal";
    for path in [format!("{entry}/iodef.xml"), format!("{entry}/iodef.json")] {
        let r = get(&s.url(&path)).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            r.headers()["content-security-policy"],
            "default-src 'none'; sandbox",
            "{path}"
        );
    }
}

/// After ten wrong tokens an address is answered 429 with Retry-After,
/// even with the right token, and the failures are counted in /metrics.
#[tokio::test]
async fn wrong_tokens_back_off() {
    let s = start_filled().await;
    let post = Method::POST;
    for i in 0..10 {
        let auth = format!("Bearer guess-{i}");
        assert_eq!(
            status(&s, post.clone(), "/rolie/feeds/incidents", Some(&auth)).await,
            401
        );
    }
    // The eleventh failure locks the address out.
    assert_eq!(
        status(
            &s,
            post.clone(),
            "/rolie/feeds/incidents",
            Some("Bearer guess-x")
        )
        .await,
        401
    );
    let r = client()
        .post(s.url("/rolie/feeds/incidents"))
        .bearer_auth("secret-token")
        .header(header::CONTENT_TYPE, "application/xml")
        .body(iodef_examples()[0].1.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    assert!(s.publisher.calls.lock().unwrap().is_empty());
    // Reads without credentials are not held up (reads are open here).
    assert_eq!(get(&s.url("/rolie/feeds/incidents")).await.status(), 200);
    let metrics = get_text(&s.url("/metrics")).await;
    assert!(
        metrics.contains("\ngridlink_http_auth_failures_total 11\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\ngridlink_http_auth_throttled_total 1\n"),
        "{metrics}"
    );
    // Once the lock-out is over the right token works again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        status(
            &s,
            post,
            "/rolie/feeds/incidents",
            Some("Bearer secret-token")
        )
        .await,
        201
    );
}

fn addr(s: &TestServer) -> SocketAddr {
    s.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection from `from` that has been served one request.
async fn served(to: SocketAddr, from: [u8; 4]) -> Option<TcpStream> {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::from((from, 0))).unwrap();
    let mut conn = sock.connect(to).await.unwrap();
    let _ = conn
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("an answer or a close in time")
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .starts_with("HTTP/1.1 200")
        .then_some(conn)
}

/// One client address cannot hold more than `max_connections_per_ip`
/// connections; another address still gets in.
#[tokio::test]
async fn connections_are_capped_per_address() {
    let config = RolieConfig {
        max_connections: 10,
        max_connections_per_ip: 2,
        ..base_config()
    };
    let s = start_in(None, config, Hooks::default()).await;
    let a = addr(&s);
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(served(a, [127, 0, 0, 1]).await.expect("within the cap"));
    }
    assert!(
        served(a, [127, 0, 0, 1]).await.is_none(),
        "a third connection from the same address is closed"
    );
    let other = served(a, [127, 0, 0, 2])
        .await
        .expect("another address is served");
    drop(other);
    drop(held.pop());
    let t = std::time::Instant::now();
    loop {
        if served(a, [127, 0, 0, 1]).await.is_some() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "no slot given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(held);
    let metrics = loop {
        if let Ok(r) = client().get(s.url("/metrics")).send().await {
            break r.text().await.unwrap();
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no slot for /metrics"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let refused: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("gridlink_http_connections_refused_per_ip_total ")?
                .parse()
                .ok()
        })
        .expect("per-address refusals in /metrics");
    assert!(refused >= 1, "{metrics}");
}
