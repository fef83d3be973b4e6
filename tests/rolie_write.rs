//! The AtomPub write path of the ROLIE server with a fake publisher:
//! POST (IODEF XML, JSON, Atom entry) → 201, DELETE → retract, and the
//! 400/401/403/404/413/415/503 answers.

mod common;

use common::rolie::*;
use gridlink::rolie::{Hooks, PublishBody, PublishError};
use reqwest::header;

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

fn minimal() -> String {
    iodef_examples().remove(0).1
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
