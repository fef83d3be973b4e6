//! HTTP behaviour of the ROLIE server: conditional GET, the write path with
//! a fake publisher, errors, traversal, paging over HTTP, restart, ops.

mod rolie_support;

use gridlink::rolie::{Hooks, PublishBody, PublishError};
use reqwest::header;
use rolie_support::*;

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

fn minimal() -> String {
    iodef_examples().remove(0).1
}

/// ETag and Last-Modified on every document; If-None-Match and
/// If-Modified-Since give 304; a change gives a new ETag.
#[tokio::test]
async fn conditional_get_gives_304() {
    let s = start_filled().await;
    let paths = [
        "/rolie/servicedocument",
        "/rolie/categories",
        "/rolie/feeds/incidents",
        "/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal",
        "/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal/iodef.xml",
        "/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal/iodef.json",
    ];
    for path in paths {
        let r = get(&s.url(path)).await;
        assert_eq!(r.status(), 200, "{path}");
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_owned();
        let lm = r.headers()[header::LAST_MODIFIED]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let c = client();
        let r = c
            .get(s.url(path))
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{path} If-None-Match");
        assert_eq!(r.headers()[header::ETAG], etag.as_str());
        let r = c
            .get(s.url(path))
            .header(header::IF_NONE_MATCH, "\"other\", W/".to_owned() + &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{path} weak/list If-None-Match");
        let r = c
            .get(s.url(path))
            .header(header::IF_MODIFIED_SINCE, &lm)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{path} If-Modified-Since");
        let r = c
            .get(s.url(path))
            .header(header::IF_NONE_MATCH, "\"stale\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path} stale ETag");
        let r = c
            .get(s.url(path))
            .header(header::IF_MODIFIED_SINCE, "Sat, 01 Jan 2000 00:00:00 GMT")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path} old date");
    }
    let before = get(&s.url("/rolie/feeds/incidents")).await.headers()[header::ETAG].clone();
    s.store
        .put(envelope("incidents", "new", &minimal()))
        .await
        .unwrap();
    let r = client()
        .get(s.url("/rolie/feeds/incidents"))
        .header(header::IF_NONE_MATCH, before.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()[header::ETAG], before);
}

/// POST of IODEF XML → publisher → 201 with Location (and the entry).
#[tokio::test]
async fn post_iodef_xml_creates_201() {
    let s = start_filled().await;
    let r = client()
        .post(s.url("/rolie/feeds/incidents"))
        .bearer_auth("second-token")
        .header(header::CONTENT_TYPE, "application/xml")
        .body(minimal())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.ends_with("/rolie/feeds/incidents/entries/posted-1"),
        "{location}"
    );
    assert_eq!(r.headers()[header::CONTENT_LOCATION], location.as_str());
    let body = r.text().await.unwrap();
    assert!(
        body.contains("<entry xmlns=\"http://www.w3.org/2005/Atom\""),
        "{body}"
    );
    assert_eq!(get(&location).await.status(), 200);
    let calls = s.publisher.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        vec![Call::Publish(
            "incidents".into(),
            PublishBody::Xml(minimal())
        )]
    );
}

/// POST of JSON IODEF and of an Atom entry with inline IODEF.
#[tokio::test]
async fn post_json_and_atom_entry() {
    let s = start_filled().await;
    let r = client()
        .post(s.url("/rolie/feeds/incidents"))
        .bearer_auth("secret-token")
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body("{\"version\":\"2.0\",\"Incident\":[]}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(r.headers().contains_key(header::LOCATION));
    let entry = format!(
        "<?xml version=\"1.0\"?><entry xmlns=\"{ATOM_NS}\"><title>x</title><id>urn:x</id><updated>2026-01-01T00:00:00Z</updated><content type=\"application/xml\">{}</content></entry>",
        minimal()
    );
    let r = client()
        .post(s.url("/rolie/feeds/incidents"))
        .bearer_auth("secret-token")
        .header(header::CONTENT_TYPE, "application/atom+xml;type=entry")
        .body(entry)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let calls = s.publisher.calls.lock().unwrap().clone();
    assert_eq!(
        calls[0],
        Call::Publish(
            "incidents".into(),
            PublishBody::Json("{\"version\":\"2.0\",\"Incident\":[]}".into())
        )
    );
    assert_eq!(
        calls[1],
        Call::Publish("incidents".into(), PublishBody::Xml(minimal()))
    );
}

async fn post(
    s: &TestServer,
    token: Option<&str>,
    ct: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut rq = client().post(s.url("/rolie/feeds/incidents")).body(body);
    if let Some(t) = token {
        rq = rq.bearer_auth(t);
    }
    if let Some(ct) = ct {
        rq = rq.header(header::CONTENT_TYPE, ct);
    }
    rq.send().await.unwrap()
}

/// Missing or wrong token → 401 with a Bearer challenge; nothing published.
#[tokio::test]
async fn post_without_valid_token_is_401() {
    let s = start_filled().await;
    for token in [None, Some("wrong"), Some("secret-token2"), Some("")] {
        let r = post(&s, token, Some("application/xml"), minimal()).await;
        assert_eq!(r.status(), 401, "{token:?}");
        assert!(r.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
    }
    let r = client()
        .delete(s.url("/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(s.publisher.calls.lock().unwrap().is_empty());
}

/// Bad media type → 415; malformed XML/JSON → 400; over the limit → 413;
/// an invalid document per the publisher → 400 listing its errors.
#[tokio::test]
async fn post_errors_400_413_415() {
    let s = start_filled().await;
    assert_eq!(
        post(&s, Some("secret-token"), Some("text/plain"), "x")
            .await
            .status(),
        415
    );
    assert_eq!(
        post(&s, Some("secret-token"), None, minimal())
            .await
            .status(),
        415
    );
    assert_eq!(
        post(
            &s,
            Some("secret-token"),
            Some("application/atom+xml;type=feed"),
            "<feed/>"
        )
        .await
        .status(),
        415
    );
    let r = post(
        &s,
        Some("secret-token"),
        Some("application/xml"),
        "<IODEF-Document><Incident></IODEF-Document>",
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("not well-formed"));
    assert_eq!(
        post(&s, Some("secret-token"), Some("application/json"), "{nope")
            .await
            .status(),
        400
    );
    let no_content = format!("<entry xmlns=\"{ATOM_NS}\"><title>x</title></entry>");
    assert_eq!(
        post(
            &s,
            Some("secret-token"),
            Some("application/atom+xml"),
            no_content
        )
        .await
        .status(),
        400
    );
    let big = format!("<a>{}</a>", "x".repeat(1024 * 1024));
    assert_eq!(
        post(
            &s,
            Some("secret-token"),
            Some("application/xml"),
            big.clone()
        )
        .await
        .status(),
        413
    );
    // Chunked (no Content-Length) bodies are cut off as well.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = s.base.trim_start_matches("http://").to_owned();
        let sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let (mut rd, mut wr) = sock.into_split();
        let head = "POST /rolie/feeds/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n";
        let writer = tokio::spawn(async move {
            let _ = wr.write_all(head.as_bytes()).await;
            let _ = wr
                .write_all(format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len()).as_bytes())
                .await;
        });
        let mut resp = vec![0u8; 12];
        rd.read_exact(&mut resp).await.unwrap();
        assert_eq!(&resp[9..12], b"413", "{}", String::from_utf8_lossy(&resp));
        writer.abort();
    }
    assert!(s.publisher.calls.lock().unwrap().is_empty());
    *s.publisher.fail.lock().unwrap() = Some(PublishError::Invalid(vec![
        "Incident: missing IncidentID".into(),
        "second".into(),
    ]));
    let r = post(&s, Some("secret-token"), Some("application/xml"), minimal()).await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Incident: missing IncidentID\nsecond"),
        "{text}"
    );
    *s.publisher.fail.lock().unwrap() = Some(PublishError::Unavailable("offline".into()));
    assert_eq!(
        post(&s, Some("secret-token"), Some("application/xml"), minimal())
            .await
            .status(),
        503
    );
    let r = client()
        .post(s.url("/rolie/feeds/nosuchtopic"))
        .bearer_auth("secret-token")
        .header(header::CONTENT_TYPE, "application/xml")
        .body(minimal())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// Without a token file, writes are refused (403) and collections say
/// `<accept/>`.
#[tokio::test]
async fn no_token_file_means_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("none");
    std::fs::write(&empty, "# nobody\n").unwrap();
    let mut config = base_config();
    config.write_token_file = Some(empty);
    let s = start_in(None, config, Hooks::default()).await;
    s.store
        .put(envelope("incidents", "a", &minimal()))
        .await
        .unwrap();
    assert_eq!(
        post(&s, Some("secret-token"), Some("application/xml"), minimal())
            .await
            .status(),
        403
    );
    let svc = get_text(&s.url("/rolie/servicedocument")).await;
    assert!(svc.contains("<accept/>"), "{svc}");
}

/// DELETE of an entry → Publisher::retract → 200, and the entry is gone.
#[tokio::test]
async fn delete_retracts() {
    let s = start_filled().await;
    let url = s.url("/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal");
    let r = client()
        .delete(&url)
        .bearer_auth("secret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(get(&url).await.status(), 404);
    let r = client()
        .delete(&url)
        .bearer_auth("secret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let calls = s.publisher.calls.lock().unwrap().clone();
    assert_eq!(
        calls[0],
        Call::Retract("incidents".into(), "rfc7970-sec7.1-minimal".into())
    );
}

/// Traversal attempts in feed/entry/content URLs are 404 or 400, never a
/// file's contents.
#[tokio::test]
async fn path_traversal_is_refused() {
    let s = start_filled().await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let paths = [
        "/rolie/feeds/..%2F..%2F..%2Fetc%2Fpasswd",
        "/rolie/feeds/incidents/entries/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/rolie/feeds/incidents/entries/%2e%2e/iodef.xml",
        "/rolie/feeds/%2e%2e/entries/%2e%2e/iodef.xml",
        "/rolie/../../../../etc/passwd",
        "/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal/../../../../../../etc/passwd",
        "/rolie/feeds/incidents/entries/%ff%fe/iodef.xml",
        "/rolie/feeds/incidents%00/entries/x/iodef.xml",
        "//etc/passwd",
    ];
    for path in paths {
        // Raw request: no client-side normalisation of dot segments.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
        sock.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut resp = String::new();
        sock.read_to_string(&mut resp).await.unwrap();
        let status = &resp[9..12];
        assert!(status == "404" || status == "400", "{path}: {resp}");
        assert!(!resp.contains("root:"), "{path} leaked a file: {resp}");
    }
}

/// 250 items, pages of 50: walking `next` from the first page visits each
/// item exactly once, newest first, while new items keep arriving; every
/// page has first/last and the right previous/next.
#[tokio::test]
async fn paging_walks_every_item_once() {
    let s = start().await;
    let doc = minimal();
    for i in 0..250 {
        s.store
            .put(envelope(
                "big",
                &format!("item-{i:03}"),
                &doc.replace("492382", &format!("n{i}")),
            ))
            .await
            .unwrap();
    }
    let mut url = s.url("/rolie/feeds/big");
    let mut seen: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        let body = get_text(&url).await;
        let parsed = feedparser(&body);
        assert_eq!(parsed["bozo"], 0);
        let links = parsed["feed"]["links"].as_array().unwrap().clone();
        let link = |rel: &str| {
            links
                .iter()
                .find(|l| l["rel"] == rel)
                .map(|l| l["href"].as_str().unwrap().to_owned())
        };
        assert!(link("first").is_some() && link("last").is_some() && link("service").is_some());
        assert_eq!(link("previous").is_some(), pages > 0, "page {pages}");
        for e in parsed["entries"].as_array().unwrap() {
            let self_link = e["links"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["rel"] == "self")
                .unwrap()["href"]
                .as_str()
                .unwrap()
                .to_owned();
            seen.push(self_link.rsplit('/').next().unwrap().to_owned());
        }
        pages += 1;
        // New items arrive between page fetches; they must not disturb the walk.
        s.store
            .put(envelope("big", &format!("late-{pages}"), &doc))
            .await
            .unwrap();
        match link("next") {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(pages, 5);
    let expected: Vec<String> = (0..250).rev().map(|i| format!("item-{i:03}")).collect();
    assert_eq!(seen, expected);
    // The last page holds the oldest items; its previous link leads back up.
    let last = feedparser(&get_text(&s.url("/rolie/feeds/big?after=0")).await);
    let ids: Vec<&str> = last["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 50);
    assert_eq!(ids[49], "n0 (reporting)");
    assert_eq!(get(&s.url("/rolie/feeds/big?before=x")).await.status(), 400);
    assert_eq!(
        get(&s.url("/rolie/feeds/big?before=1&after=2"))
            .await
            .status(),
        400
    );
}

/// A restarted server over the same store serves byte-identical documents
/// with the same ETags.
#[tokio::test]
async fn restart_serves_the_same_documents() {
    let s = start_filled().await;
    let paths = [
        "/rolie/servicedocument",
        "/rolie/feeds/incidents",
        "/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal",
    ];
    let mut before = Vec::new();
    for p in paths {
        let r = get(&s.url(p)).await;
        let etag = r.headers()[header::ETAG].clone();
        let body = r.text().await.unwrap();
        before.push((etag, body.replace(&s.base, "BASE")));
    }
    let dir = s.stop().await;
    let mut config = base_config();
    config.topics.insert(
        "indicators".into(),
        gridlink::rolie::TopicSettings {
            information_type: Some("indicator".into()),
            title: Some("Indicators".into()),
            ..Default::default()
        },
    );
    config.write_token_file = Some(dir.path().join("tokens"));
    let hooks = Hooks {
        json_form: Some(std::sync::Arc::new(|e: &gridlink::envelope::Envelope| {
            Ok(e.item_id.clone())
        })),
        ..Hooks::default()
    };
    let s2 = start_in(Some(dir), config, hooks).await;
    for (p, (_etag, body)) in paths.iter().zip(&before) {
        let r = get(&s2.url(p)).await;
        assert_eq!(r.status(), 200);
        let now = r.text().await.unwrap().replace(&s2.base, "BASE");
        assert_eq!(&now, body, "{p}");
    }
}

/// /healthz reports the store and the injected XMPP state; /metrics counts
/// requests by status and items per topic.
#[tokio::test]
async fn healthz_and_metrics() {
    struct Down;
    impl gridlink::rolie::HealthProbe for Down {
        fn xmpp(&self) -> gridlink::rolie::ComponentHealth {
            gridlink::rolie::ComponentHealth {
                healthy: false,
                detail: "reconnecting".into(),
            }
        }
    }
    let s = start_filled().await;
    let r = get(&s.url("/healthz")).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["store"]["healthy"], true);
    get(&s.url("/rolie/nope")).await;
    let m = get_text(&s.url("/metrics")).await;
    assert!(
        m.contains("gridlink_http_requests_total{status=\"200\"}"),
        "{m}"
    );
    assert!(
        m.contains("gridlink_http_requests_total{status=\"404\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("gridlink_store_items{topic=\"incidents\"} 4"),
        "{m}"
    );
    assert!(
        m.contains("gridlink_store_puts_total{topic=\"incidents\",outcome=\"inserted\"} 4"),
        "{m}"
    );
    let hooks = Hooks {
        health: Some(std::sync::Arc::new(Down)),
        metrics: Some(std::sync::Arc::new(|out: &mut String| {
            out.push_str(
                "# TYPE gridlink_xmpp_reconnects_total counter\ngridlink_xmpp_reconnects_total 3\n",
            )
        })),
        ..Hooks::default()
    };
    let s = start_in(None, base_config(), hooks).await;
    let r = get(&s.url("/healthz")).await;
    assert_eq!(r.status(), 503);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["xmpp"]["detail"], "reconnecting");
    assert!(get_text(&s.url("/metrics"))
        .await
        .contains("gridlink_xmpp_reconnects_total 3"));
}

/// Plain HTTP on a non-loopback address is refused unless explicitly allowed.
#[tokio::test]
async fn refuses_insecure_non_loopback() {
    use gridlink::rolie::{NoPublisher, RolieServer, ServeError};
    let store = gridlink::store::Store::open_in_memory().unwrap();
    let mut config = base_config();
    config.listen = "0.0.0.0:0".parse().unwrap();
    let err = RolieServer::bind(
        config.clone(),
        store.clone(),
        std::sync::Arc::new(NoPublisher),
        Hooks::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServeError::InsecureListen(_)), "{err}");
    config.allow_insecure_http = true;
    RolieServer::bind(
        config,
        store,
        std::sync::Arc::new(NoPublisher),
        Hooks::default(),
    )
    .await
    .unwrap();
}
