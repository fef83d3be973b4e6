//! Hostile input on every real surface (issue #6, item 4): the `gridlink
//! publish` CLI, the running `gridlink bridge` (HTTP), and `gridlink
//! subscribe` + the bridge receiving what a foreign XMPP client (slixmpp,
//! writing raw bytes) puts on the IODEF topic. Each case: a clear error,
//! nothing stored (broker history, bridge feed), and every process alive
//! and still delivering the next good item.
//!
//! Broker behaviour seen here (Prosody 0.12), asserted by the tests: a
//! stanza carrying malformed XML, a DOCTYPE or invalid UTF-8 never reaches
//! subscribers — Prosody closes the *sender's* stream with `not-well-formed`;
//! one over the c2s stanza size limit (256 KiB, so the 10 MB case) gets
//! `policy-violation` ("XML stanza is too big"). gridlink's part is then to
//! notice nothing, store nothing and keep delivering. Well-formed but wrong
//! payloads (another namespace, an invalid enum) are relayed by the broker
//! and refused by gridlink as `rejected` events.

// Checklist (issue #6 item 4 → test):
// - malformed XML                    → `malformed_xml`
//   (parser level: iodef_hostile.rs `malformed`; POST 400: rolie_write.rs `post_errors_400_413_415`)
// - DOCTYPE / external entity        → `doctype_external_entity`
//   (parser level: iodef_hostile.rs `doctype_and_entities`; publish: grid.rs `payload_checks_before_sending`)
// - billion laughs                   → `billion_laughs` (parser level: iodef_hostile.rs `doctype_and_entities`)
// - a 10 MB payload                  → `ten_megabyte_payload` (parser level: iodef_hostile.rs `oversize`)
// - wrong-namespace payload from a foreign client onto an IODEF topic
//                                    → `wrong_namespace_from_foreign_client`
//   (library level: grid.rs `foreign_payload_is_rejected_and_stream_continues`)
// - an invalid enum value            → `invalid_enum_value`
// - non-UTF-8                        → `non_utf8` (parser level: iodef_hostile.rs `bad_encodings`)
// - HTTP POST without token          → `post_without_token` (fake publisher: rolie_write.rs `post_without_valid_token_is_401`)
// - POST with the wrong content type → `post_wrong_content_type` (fake publisher: rolie_write.rs `post_errors_400_413_415`)
// - path traversal in feed and content URLs
//                                    → `path_traversal` (GET, fake publisher: rolie_http.rs `path_traversal_is_refused`;
//                                      `--out` file names: src/cli/subscribe.rs `file_names_are_safe`)
// - an oversized HTTP body           → `oversized_http_body` (fake publisher: rolie_write.rs `post_errors_400_413_415`)
// - a slow client that never finishes its request (timeouts)
//                                    → `slow_client_is_cut_off_without_blocking_others`,
//                                      `stalled_tls_handshake_is_cut_off`

mod common;

use std::time::{Duration, Instant};

use common::hostile::*;

const IODEF_NS: &str = "urn:ietf:params:xml:ns:iodef-2.0";

/// A valid minimal IODEF document (RFC 7970 §7.1, no declaration, no
/// comments: fit for an XMPP stanza as is).
fn good() -> String {
    format!(
        "<IODEF-Document version=\"2.00\" xml:lang=\"en\" xmlns=\"{IODEF_NS}\">\
<Incident purpose=\"reporting\" restriction=\"private\">\
<IncidentID name=\"csirt.example.com\">hostile-1</IncidentID>\
<GenerationTime>2015-07-18T09:00:00-05:00</GenerationTime>\
<Contact type=\"organization\" role=\"creator\"><Email><EmailTo>contact@csirt.example.com</EmailTo></Email></Contact>\
</Incident></IODEF-Document>"
    )
}

#[test]
fn the_good_document_is_good() {
    // The hostile variants below differ from this one in one respect each;
    // this guards against a case passing because the base was bad.
    let p = gridlink::grid::Payload::prepare(
        good().as_bytes(),
        gridlink::iodef::ValidationLevel::Strict,
        1 << 20,
    );
    assert!(p.is_ok(), "{p:?}");
}

async fn lab() -> Lab {
    Lab::start(LabOptions::default()).await
}

/// Malformed XML (an unclosed element): the CLI names the file and the XML
/// error, the bridge answers 400 "not well-formed", and over XMPP the broker
/// closes the sender's stream; gridlink keeps going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_xml() {
    let mut lab = lab().await;
    let doc = good().replace("</Incident>", "");
    lab.cli_publish_refused("malformed.xml", doc.as_bytes(), &["XML"])
        .await;
    lab.post_refused(
        Some("application/xml"),
        Some(TOKEN),
        doc.clone().into_bytes(),
        400,
        "not well-formed XML",
    )
    .await;
    let outcome = lab.foreign_refused_by_broker(doc.as_bytes()).await;
    assert_eq!(outcome["outcome"], "disconnected", "{outcome}");
    assert_eq!(outcome["stream_error"], "not-well-formed", "{outcome}");
}

/// A DOCTYPE declaring an external entity (XXE): refused before anything is
/// resolved — the file's content never appears anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctype_external_entity() {
    let mut lab = lab().await;
    let doc = format!(
        "<!DOCTYPE IODEF-Document [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        good().replace("contact@csirt.example.com", "&xxe;")
    );
    let line = lab
        .cli_publish_refused("xxe.xml", doc.as_bytes(), &["DOCTYPE"])
        .await;
    assert!(!line.contains("root:"), "{line}");
    lab.post_refused(
        Some("application/xml"),
        Some(TOKEN),
        doc.clone().into_bytes(),
        400,
        "DOCTYPE is not accepted",
    )
    .await;
    // Inside an Atom entry as well.
    let entry = format!(
        "<!DOCTYPE entry [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><entry xmlns=\"http://www.w3.org/2005/Atom\"><content type=\"application/xml\">{}</content></entry>",
        good().replace("contact@csirt.example.com", "&xxe;")
    );
    lab.post_refused(
        Some("application/atom+xml;type=entry"),
        Some(TOKEN),
        entry.into_bytes(),
        400,
        "DOCTYPE is not accepted",
    )
    .await;
    let outcome = lab.foreign_refused_by_broker(doc.as_bytes()).await;
    assert_eq!(outcome["outcome"], "disconnected", "{outcome}");
    // A DTD inside a stream is not even well-formed XML (it may only
    // open a document), so Prosody says so.
    assert_eq!(outcome["stream_error"], "not-well-formed", "{outcome}");
    for out in [lab.bridge.output(), lab.subscriber.output()] {
        assert!(!out.contains("root:x:0"), "{out}");
    }
}

/// Billion laughs: refused at the DOCTYPE, at once and without memory
/// growth (nothing is expanded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billion_laughs() {
    let mut lab = lab().await;
    let mut dtd = String::from("<!DOCTYPE IODEF-Document [<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    dtd.push_str("]>");
    let doc = format!(
        "{dtd}{}",
        good().replace("contact@csirt.example.com", "&lol9;")
    );
    let t = Instant::now();
    lab.cli_publish_refused("lol.xml", doc.as_bytes(), &["DOCTYPE"])
        .await;
    lab.post_refused(
        Some("application/xml"),
        Some(TOKEN),
        doc.clone().into_bytes(),
        400,
        "DOCTYPE",
    )
    .await;
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    let outcome = lab.foreign_refused_by_broker(doc.as_bytes()).await;
    assert_eq!(outcome["outcome"], "disconnected", "{outcome}");
    // A DTD inside a stream is not even well-formed XML (it may only
    // open a document), so Prosody says so.
    assert_eq!(outcome["stream_error"], "not-well-formed", "{outcome}");
}

/// 10 MB: the CLI refuses it before connecting (limit 200 KiB), the bridge
/// answers 413 (limit 1 MiB), and Prosody closes the stream of a client that
/// sends it (c2s stanza size limit); gridlink is unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabyte_payload() {
    let mut lab = lab().await;
    let filler = "A".repeat(10 * 1024 * 1024);
    let doc = good().replace(
        "</GenerationTime>",
        &format!("</GenerationTime><Description>{filler}</Description>"),
    );
    assert!(doc.len() > 10 * 1024 * 1024);
    lab.cli_publish_refused(
        "big.xml",
        doc.as_bytes(),
        &["larger than the limit of 204800 bytes"],
    )
    .await;
    // Raw HTTP: the server answers 413 from the declared length, without
    // reading 10 MB first, then closes.
    let (n_before, _) = lab.feed().await;
    let items_before = lab.broker_items().await;
    let head = format!(
        "POST /rolie/feeds/{TOPIC} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
        doc.len()
    );
    let r = raw_http(
        lab.addr,
        head,
        doc.clone().into_bytes(),
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(r.status, Some(413), "{r:?}");
    assert!(r.text.contains("body exceeds 1048576 bytes"), "{}", r.text);
    lab.assert_unchanged(n_before, &items_before).await;
    let outcome = lab.foreign_refused_by_broker(doc.as_bytes()).await;
    assert_eq!(outcome["outcome"], "disconnected", "{outcome}");
    assert_eq!(outcome["stream_error"], "policy-violation", "{outcome}");
    assert!(
        lab.prosody.log().contains("XML stanza is too big"),
        "Prosody's log does not show its stanza size limit at work"
    );
}

/// An IODEF-shaped document in another namespace, published by slixmpp
/// onto the IODEF topic: the broker takes it, gridlink subscribe reports it
/// as `rejected` and goes on, and the bridge serves nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_namespace_from_foreign_client() {
    let mut lab = lab().await;
    let doc = good().replace(IODEF_NS, "urn:example:not-iodef");
    lab.foreign_rejected_by_gridlink(doc.as_bytes(), "not an IODEF v2 IODEF-Document")
        .await;
    lab.cli_publish_refused("wrong-ns.xml", doc.as_bytes(), &["urn:example:not-iodef"])
        .await;
    lab.post_refused(
        Some("application/xml"),
        Some(TOKEN),
        doc.into_bytes(),
        400,
        "invalid document",
    )
    .await;
}

/// `purpose="attack"` is not in the enumeration (RFC 7970 §3.2). Strict
/// validation (the default for publishing and POSTs; asked for on the
/// receiving side here) names the attribute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_enum_value() {
    let mut lab = lab().await;
    let doc = good().replace("purpose=\"reporting\"", "purpose=\"attack\"");
    lab.cli_publish_refused("enum.xml", doc.as_bytes(), &["purpose", "attack"])
        .await;
    lab.post_refused(
        Some("application/xml"),
        Some(TOKEN),
        doc.clone().into_bytes(),
        400,
        "purpose",
    )
    .await;
    lab.foreign_rejected_by_gridlink(doc.as_bytes(), "invalid IODEF")
        .await;
}

/// Bytes that are not UTF-8 inside a text node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_utf8() {
    let mut lab = lab().await;
    let mut doc = good().into_bytes();
    let at = doc
        .windows(7)
        .position(|w| w == b"contact")
        .expect("EmailTo text");
    doc.splice(at..at, [0xff, 0xfe, 0xc3, 0x28]);
    lab.cli_publish_refused("latin.xml", &doc, &["UTF-8"]).await;
    lab.post_refused(
        Some("application/xml"),
        Some(TOKEN),
        doc.clone(),
        400,
        "body is not UTF-8",
    )
    .await;
    lab.post_refused(
        Some("application/json"),
        Some(TOKEN),
        b"{\"version\":\"2.0\xff\"}".to_vec(),
        400,
        "body is not UTF-8",
    )
    .await;
    let outcome = lab.foreign_refused_by_broker(&doc).await;
    assert_eq!(outcome["outcome"], "disconnected", "{outcome}");
    assert_eq!(outcome["stream_error"], "not-well-formed", "{outcome}");
}

/// POSTs without a usable bearer token: 401 with a challenge and a message,
/// nothing published, nothing stored — even with a valid document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_without_token() {
    let mut lab = lab().await;
    lab.good_item_flows().await;
    let doc = good().into_bytes();
    let xml = Some("application/xml");
    lab.post_refused(xml, None, doc.clone(), 401, "bearer token required")
        .await;
    lab.post_refused(xml, Some("not-the-token"), doc.clone(), 401, "not accepted")
        .await;
    lab.post_refused(
        xml,
        Some(&TOKEN[..TOKEN.len() - 1]),
        doc.clone(),
        401,
        "not accepted",
    )
    .await;
    lab.post_refused(
        xml,
        Some(&format!("{TOKEN}x")),
        doc.clone(),
        401,
        "not accepted",
    )
    .await;
    // The token elsewhere than in an Authorization: Bearer header is no token.
    let (n_before, _) = lab.feed().await;
    let items = lab.broker_items().await;
    for (url, auth) in [
        (format!("/rolie/feeds/{TOPIC}?access_token={TOKEN}"), None),
        (
            format!("/rolie/feeds/{TOPIC}"),
            Some(format!("Basic {TOKEN}")),
        ),
        (format!("/rolie/feeds/{TOPIC}"), Some(TOKEN.to_owned())),
    ] {
        let mut rq = client()
            .post(lab.url(&url))
            .header("content-type", "application/xml")
            .body(doc.clone());
        if let Some(a) = auth {
            rq = rq.header("authorization", a);
        }
        let r = rq.send().await.unwrap();
        assert_eq!(r.status(), 401, "{url}");
        assert!(r.headers().contains_key("www-authenticate"));
        assert!(!r.text().await.unwrap().is_empty());
    }
    // DELETE without a token leaves the item in place.
    let (_, feed) = lab.feed().await;
    let entry = feed
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("/entries/") && !h.ends_with(".xml") && !h.ends_with(".json"))
        .expect("an entry link")
        .to_owned();
    let r = client().delete(&entry).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(client().get(&entry).send().await.unwrap().status(), 200);
    lab.assert_unchanged(n_before, &items).await;
    // Refused writes are in the audit trail (RFC 8322 §9): peer, method,
    // path and status, at the default log level.
    let log = lab.bridge.output();
    assert!(
        log.lines().any(|l| l.contains("http write")
            && l.contains("peer=127.0.0.1:")
            && l.contains("method=POST")
            && l.contains(&format!("path=/rolie/feeds/{TOPIC}"))
            && l.contains("status=401")),
        "no audit line for the refused POST:\n{log}"
    );
}

/// POSTs with media types other than IODEF XML, RFC 8727 JSON or an Atom
/// entry: 415 with the accepted types named; nothing published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_wrong_content_type() {
    let mut lab = lab().await;
    let doc = good().into_bytes();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/octet-stream"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("text/html"),
        Some("application/atom+xml;type=feed"),
        Some("application/xml-dtd"),
        Some(""),
    ] {
        lab.post_refused(ct, Some(TOKEN), doc.clone(), 415, "application/xml")
            .await;
    }
    // JSON declared, XML sent: a clear 400, not a publish.
    lab.post_refused(
        Some("application/json"),
        Some(TOKEN),
        doc,
        400,
        "invalid JSON",
    )
    .await;
}

/// Traversal attempts in feed, entry and content URLs, for GET, POST and
/// DELETE (with a valid token) on the real bridge: 400/404, never a file,
/// never a write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_traversal() {
    let mut lab = lab().await;
    let id = lab.good_item_flows().await;
    let (n_before, _) = lab.feed().await;
    let items = lab.broker_items().await;
    let enc = id.replace(':', "%3A");
    let paths = [
        "/rolie/feeds/..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/rolie/feeds/%2e%2e".to_owned(),
        "/rolie/feeds/..".to_owned(),
        format!("/rolie/feeds/{TOPIC}/entries/..%2F..%2F..%2Fetc%2Fpasswd"),
        format!("/rolie/feeds/{TOPIC}/entries/%2e%2e/iodef.xml"),
        format!("/rolie/feeds/{TOPIC}/entries/{enc}/../../../../../../etc/passwd"),
        format!("/rolie/feeds/{TOPIC}/entries/{enc}/..%2F..%2F..%2Fbridge.sqlite"),
        format!("/rolie/feeds/{TOPIC}/entries/{enc}/iodef.xml/../../../../../etc/passwd"),
        "/rolie/../../../../etc/passwd".to_owned(),
        "/rolie/feeds/incidents%00/entries/x/iodef.xml".to_owned(),
        "/rolie/feeds/%2Fetc%2Fpasswd/entries/x/iodef.json".to_owned(),
        "//etc/passwd".to_owned(),
        "/rolie/feeds/..\\..\\etc\\passwd".to_owned(),
    ];
    for method in ["GET", "POST", "DELETE"] {
        for path in &paths {
            let body = good();
            let head = format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let r = raw_http(lab.addr, head, body.into_bytes(), Duration::from_secs(10)).await;
            let status = r.status.unwrap_or(0);
            assert!(
                status == 404 || status == 400 || status == 405,
                "{method} {path}: {}",
                r.text
            );
            assert!(!r.text.contains("root:"), "{method} {path} leaked a file");
            assert!(
                !r.text.contains("SQLite format"),
                "{method} {path} leaked the store"
            );
        }
    }
    lab.assert_unchanged(n_before, &items).await;
    // The real item is untouched.
    let r = client()
        .get(lab.url(&format!("/rolie/feeds/{TOPIC}/entries/{enc}/iodef.xml")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Bodies over `max_body`: declared (413 before the body is read — it is
/// never even sent in full) and chunked without a length (cut off at the
/// limit); nothing stored, the bridge keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_http_body() {
    let mut lab = lab().await;
    let (n_before, _) = lab.feed().await;
    let items = lab.broker_items().await;
    // Declared 100 MB, nothing sent after the head: the answer cannot wait
    // for the body.
    let head = format!(
        "POST /rolie/feeds/{TOPIC} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/xml\r\nContent-Length: 104857600\r\n\r\n"
    );
    let r = raw_http(lab.addr, head, Vec::new(), Duration::from_secs(10)).await;
    assert_eq!(r.status, Some(413), "{r:?}");
    assert!(r.answered_after < Duration::from_secs(5), "{r:?}");
    assert!(r.text.contains("body exceeds"), "{}", r.text);
    assert!(
        r.text.to_lowercase().contains("connection: close"),
        "{}",
        r.text
    );
    // Chunked, 3 MiB, no length.
    let chunk = format!("<a>{}</a>", "x".repeat(3 * 1024 * 1024));
    let head = format!(
        "POST /rolie/feeds/{TOPIC} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let body = format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len()).into_bytes();
    let r = raw_http(lab.addr, head, body, Duration::from_secs(20)).await;
    assert_eq!(r.status, Some(413), "{r:?}");
    // And through an ordinary client.
    lab.post_refused(
        Some("application/xml"),
        Some(TOKEN),
        format!("<a>{}</a>", "x".repeat(1024 * 1024)).into_bytes(),
        413,
        "body exceeds 1048576 bytes",
    )
    .await;
    lab.assert_unchanged(n_before, &items).await;
}

/// Reads one HTTP/1.1 response with a Content-Length off `sock`.
async fn read_one_response(sock: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
            .await
            .expect("response")
            .expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + len {
                return text;
            }
        }
    }
}

/// Clients that start a request and stall — half a request line, nothing
/// at all, a body cut short, half of a second request on a kept-alive
/// connection — are disconnected after `request_timeout_secs` (2 s here),
/// a stalled body with a 408; meanwhile other clients are served at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_client_is_cut_off_without_blocking_others() {
    use tokio::io::AsyncWriteExt;
    let mut lab = Lab::start(LabOptions {
        request_timeout_secs: 2,
        ..LabOptions::default()
    })
    .await;
    lab.good_item_flows().await;
    let (n_before, _) = lab.feed().await;
    let items = lab.broker_items().await;
    let addr = lab.addr;
    let within = Duration::from_secs(15);
    let half_head = tokio::spawn(raw_http(
        addr,
        format!("POST /rolie/feeds/{TOPIC} HTTP/1.1\r\nHost: x\r\nAuthoriz"),
        Vec::new(),
        within,
    ));
    let silent = tokio::spawn(raw_http(addr, String::new(), Vec::new(), within));
    let half_body = tokio::spawn(raw_http(
        addr,
        format!("POST /rolie/feeds/{TOPIC} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/xml\r\nContent-Length: 5000\r\n\r\n"),
        good().into_bytes()[..100].to_vec(),
        within,
    ));
    let kept_alive = tokio::spawn(async move {
        let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
        sock.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let first = read_one_response(&mut sock).await;
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        let t = Instant::now();
        sock.write_all(b"GET /healthz HTTP/1.1\r\nHo")
            .await
            .unwrap();
        read_answer(&mut sock, t, within).await
    });
    // While those four hang, others are served without delay.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..5 {
        let t = Instant::now();
        lab.assert_alive().await;
        let _ = lab.feed().await;
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "served in {:?}",
            t.elapsed()
        );
    }
    for (name, task) in [
        ("half a request head", half_head),
        ("nothing at all", silent),
        ("a body cut short", half_body),
        ("half a second request", kept_alive),
    ] {
        let r = task.await.unwrap();
        assert!(r.closed, "{name}: still connected after {within:?}: {r:?}");
        assert!(
            r.answered_after >= Duration::from_millis(1500)
                && r.answered_after < Duration::from_secs(8),
            "{name}: cut off after {:?}, expected about 2 s",
            r.answered_after
        );
        if name == "a body cut short" {
            assert_eq!(r.status, Some(408), "{r:?}");
            assert!(
                r.text.contains("request body not received within 2 s"),
                "{}",
                r.text
            );
        }
    }
    lab.assert_unchanged(n_before, &items).await;
}

/// A client that opens a TLS connection and never completes the handshake
/// is dropped after `request_timeout_secs`, while a proper HTTPS client is
/// served meanwhile (the ROLIE server in-process, TLS from a lab CA).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_tls_handshake_is_cut_off() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    let dir = tempfile::tempdir().unwrap();
    let ca = gridlink::lab::TestCa::generate(dir.path(), &["localhost"]).unwrap();
    let mut config = common::rolie::base_config();
    config.tls_cert = Some(ca.server_chain_pem.clone());
    config.tls_key = Some(ca.server_key_pem.clone());
    config.request_timeout_secs = 1;
    let s = common::rolie::start_in(None, config, Default::default()).await;
    let addr: std::net::SocketAddr = s.base.trim_start_matches("https://").parse().unwrap();
    let within = Duration::from_secs(10);
    // Nothing sent, and a ClientHello record header promising bytes that
    // never come.
    let silent = tokio::spawn(raw_http(addr, String::new(), Vec::new(), within));
    let partial = tokio::spawn(async move {
        let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
        let t = Instant::now();
        sock.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
            .await
            .unwrap();
        read_answer(&mut sock, t, within).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&ca.ca_pem).unwrap())
        .unwrap();
    let tls = ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let t = Instant::now();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut conn = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("handshake");
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = Vec::new();
    let _ = conn.read_to_end(&mut resp).await;
    assert!(
        String::from_utf8_lossy(&resp).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&resp)
    );
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    for (name, task) in [("silent", silent), ("partial ClientHello", partial)] {
        let r = task.await.unwrap();
        assert!(r.closed, "{name}: still connected: {r:?}");
        assert!(
            r.answered_after >= Duration::from_millis(700)
                && r.answered_after < Duration::from_secs(5),
            "{name}: cut off after {:?}, expected about 1 s",
            r.answered_after
        );
    }
    s.stop().await;
}
