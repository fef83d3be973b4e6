//! HTTP behaviour of the ROLIE server: conditional GET, traversal, paging
//! over HTTP, restart, ops endpoints. (The write path: `rolie_write.rs`.)

mod common;

use common::rolie::*;
use gridlink::rolie::{Hooks, RolieConfig};
use reqwest::header;

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
    // Rendered pages are cached: a retraction must still show at once.
    let with_new = r.headers()[header::ETAG].clone();
    assert!(r.text().await.unwrap().contains("/entries/new"));
    assert!(s.store.retract("incidents", "new").await.unwrap());
    let r = client()
        .get(s.url("/rolie/feeds/incidents"))
        .header(header::IF_NONE_MATCH, with_new.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()[header::ETAG], with_new);
    assert!(!r.text().await.unwrap().contains("/entries/new\""));
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
/// with the same ETags, so a client's conditional GET still gets 304.
#[tokio::test]
async fn restart_serves_the_same_documents() {
    let config = || RolieConfig {
        public_url: Some("http://rolie.test".into()),
        ..base_config()
    };
    let s = start_in(None, config(), Hooks::default()).await;
    for (name, doc) in iodef_examples() {
        s.store
            .put(envelope("incidents", &name, &doc))
            .await
            .unwrap();
    }
    s.store
        .retract("incidents", "rfc8274-appB.3-spear-phishing")
        .await
        .unwrap();
    let paths = [
        "/rolie/servicedocument",
        "/rolie/categories",
        "/rolie/feeds/incidents",
        "/rolie/feeds/incidents?after=0",
        "/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal",
        "/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal/iodef.xml",
    ];
    let mut before = Vec::new();
    for p in paths {
        let r = get(&s.url(p)).await;
        assert_eq!(r.status(), 200);
        let etag = r.headers()[header::ETAG].clone();
        before.push((etag, r.text().await.unwrap()));
    }
    let dir = s.stop().await;
    let mut again = config();
    again.write_token_file = Some(dir.path().join("tokens"));
    let s2 = start_in(Some(dir), again, Hooks::default()).await;
    for (p, (etag, body)) in paths.iter().zip(&before) {
        let r = get(&s2.url(p)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(&r.headers()[header::ETAG], etag, "{p}");
        assert_eq!(&r.text().await.unwrap(), body, "{p}");
        let r = client()
            .get(s2.url(p))
            .header(header::IF_NONE_MATCH, etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{p}");
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
