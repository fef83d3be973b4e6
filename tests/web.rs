//! The analyst's web pages (issue 27).
//!
//! * In a real browser (headless Debian chromium driven by selenium,
//!   `tests/py/web_browser.py`) against a real `gridlink bridge` on a lab
//!   Prosody: the pages render without console errors; filters and search
//!   find the right incidents; an incident published to the grid appears in
//!   the live view within 2 s; script tags, event-handler attributes and
//!   `javascript:` URLs in every text field and URL of a document show as
//!   text and never run. Screenshots go to `target/tmp/web-screenshots/`.
//! * Over plain HTTP: the topic page pages with the feeds' own cursors, the
//!   read tokens and topic scopes of the feeds hold, and every page carries
//!   the Content-Security-Policy.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use gridlink::grid::Payload;
use gridlink::iodef::ValidationLevel;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use common::hostile::{Lab, LabOptions, TOPIC};
use common::rolie::{base_config, envelope, start_in};

/// The payloads: each sets `window.__xss` or the title if it ever runs.
const PAYLOADS: [&str; 4] = [
    "<script>window.__xss='script';document.title='pwned'</script>",
    "<img src=x onerror=\"window.__xss='img'\">",
    "\"><svg onload=\"window.__xss='svg'\">",
    "' autofocus onfocus='window.__xss=1' x='",
];
/// In URL fields (xs:anyURI).
const JS_URLS: [&str; 2] = [
    "javascript:window.__xss='url';document.title='pwned'",
    " JaVaScRiPt:document.title='pwned'",
];
const HASH: &str = "pc3jbvlminhdMs8dDsOsXEAU5DsgsEgeAP/H8gci2MM=";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A plain incident with one Observable.
fn doc(id: &str, purpose: &str, restriction: &str, text: &str, observable: &str) -> String {
    format!(
        r#"<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><Incident purpose="{purpose}" restriction="{restriction}"><IncidentID name="csirt.example">{id}</IncidentID><GenerationTime>2026-12-01T10:00:00Z</GenerationTime><Description>{text}</Description><Contact role="creator" type="organization"><ContactName>Example CSIRT</ContactName><Email><EmailTo>soc@csirt.example</EmailTo></Email></Contact><EventData><Description>seen</Description><Flow><System category="source"><Node><Address category="ipv4-addr">203.0.113.9</Address></Node></System></Flow></EventData><IndicatorData><Indicator><IndicatorID name="csirt.example" version="1">{id}-ind</IndicatorID><Description>indicator of {id}</Description><Observable>{observable}</Observable></Indicator></IndicatorData></Incident></IODEF-Document>"#
    )
}

/// Payloads in every text field and URL the pages show.
fn hostile(id: &str, description: &str) -> String {
    let p: Vec<String> = PAYLOADS.iter().map(|p| esc(p)).collect();
    let u: Vec<String> = JS_URLS.iter().map(|u| esc(u)).collect();
    format!(
        r#"<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0"><Incident purpose="other" restriction="public"><IncidentID name="xss.example">{id}</IncidentID><RelatedActivity><ThreatActor><ThreatActorID>{p0}</ThreatActorID><URL>{u0}</URL><Description>{p1}</Description></ThreatActor></RelatedActivity><GenerationTime>2026-12-01T10:00:00Z</GenerationTime><Description>{description}</Description><Assessment occurrence="actual"><SystemImpact severity="high" type="unknown"><Description>{p2}</Description></SystemImpact></Assessment><Method><Reference><URL>{u1}</URL><Description>{p3}</Description></Reference></Method><Contact role="creator" type="organization"><ContactName>{p1}</ContactName><Description>{p2}</Description><Email><EmailTo>{p3}</EmailTo></Email></Contact><EventData><Description>{p0}</Description><Flow><System category="source"><Node><DomainData system-status="unknown" domain-status="unknown"><Name>{p2}</Name></DomainData><Address category="ipv4-addr">{p3}</Address></Node><Description>{p1}</Description></System></Flow></EventData><IndicatorData><Indicator><IndicatorID name="xss.example" version="1">xss-ind</IndicatorID><Description>{p1}</Description><Observable><Address category="ipv4-addr">{p2}</Address></Observable></Indicator></IndicatorData></Incident></IODEF-Document>"#,
        p0 = p[0],
        p1 = p[1],
        p2 = p[2],
        p3 = p[3],
        u0 = u[0],
        u1 = u[1],
    )
}

/// The browser and its driver, or a clear failure naming scripts/deps.
fn browser_tools() {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            std::path::Path::new(tool).exists(),
            "{tool} is missing: run scripts/deps (Debian packages chromium, chromium-driver)"
        );
    }
    let ok = std::process::Command::new("python3")
        .args(["-c", "import selenium, requests"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 with selenium is required: pip install -r tests/requirements.txt (scripts/deps)"
    );
}

async fn publish(lab: &Lab, xml: &str) -> String {
    let payload = Payload::prepare(xml.as_bytes(), ValidationLevel::Strict, 1 << 20)
        .unwrap_or_else(|e| panic!("test document is valid IODEF: {e}\n{xml}"));
    lab.publisher
        .publish(TOPIC, &payload)
        .await
        .expect("publish")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_browses_searches_watches_and_never_runs_document_script() {
    browser_tools();
    let mut lab = Lab::start(LabOptions::default()).await;
    let xss_id = format!("XSS-1 {}", PAYLOADS[0]);
    let docs = [
        doc(
            "WEB-A-1",
            "mitigation",
            "green",
            "botnet sinkhole report",
            r#"<Address category="ipv4-addr">192.0.2.10</Address>"#,
        ),
        doc(
            "WEB-B-2",
            "watch",
            "amber",
            "phishing wave",
            "<DomainData system-status='unknown' domain-status='unknown'><Name>evil.example</Name></DomainData>",
        ),
        doc(
            "WEB-C-3",
            "reporting",
            "white",
            "dropper sample",
            &format!(
                r#"<FileData><File><FileName>dropper.exe</FileName><HashData scope="file-contents"><Hash><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>{HASH}</ds:DigestValue></Hash></HashData></File></FileData>"#
            ),
        ),
        hostile(&esc(&xss_id), &esc(PAYLOADS[1])),
    ];
    for d in &docs {
        publish(&lab, d).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while lab.feed().await.0 < docs.len() {
        assert!(
            Instant::now() < deadline,
            "the bridge never stored the documents"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    println!("screenshots: {}", shots.display());
    let expect = serde_json::json!({
        "ids": ["WEB-A-1", "WEB-B-2", "WEB-C-3", xss_id],
        "xss_id": xss_id,
        "green": "WEB-A-1",
        "watch": "WEB-B-2",
        "hash_id": "WEB-C-3",
        "address": "192.0.2.10",
        "domain": "evil.example",
        "hash": HASH,
        "payloads": PAYLOADS.iter().copied().chain(JS_URLS.iter().map(|u| u.trim())).collect::<Vec<_>>(),
        "live_id": "LIVE-1",
    });
    let mut child = tokio::process::Command::new("python3")
        .arg(common::fixture("../py/web_browser.py"))
        .args(["--base", &lab.base, "--out"])
        .arg(&shots)
        .args(["--expect", &expect.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let err_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut s).await;
        s
    });
    let run = async {
        let mut done = false;
        while let Some(line) = lines.next_line().await.expect("script output") {
            println!("web_browser.py: {line}");
            if line.starts_with("PUBLISH") {
                let live = hostile("LIVE-1", &esc(PAYLOADS[0]));
                publish(&lab, &live).await;
                stdin.write_all(b"published\n").await.unwrap();
                stdin.flush().await.unwrap();
            } else if line == "DONE" {
                done = true;
            }
        }
        done
    };
    let done = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the browser test finished within 90 s");
    let status = child.wait().await.unwrap();
    let err = err_task.await.unwrap();
    assert!(
        done && status.success(),
        "web_browser.py failed ({status}):\n{err}\nbridge:\n{}",
        lab.bridge.output()
    );
    lab.assert_alive().await;
}

/// Topic `a` with 5 items, `b` with 1, pages of 2, a token for every topic
/// and one for `a` only.
#[tokio::test]
async fn pages_use_the_feeds_cursors_scopes_and_headers() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("read-tokens");
    std::fs::write(&tokens, "all-token\nscoped-token a\n").unwrap();
    let mut config = base_config();
    config.page_size = 2;
    config.read_token_file = Some(tokens);
    let server = start_in(Some(dir), config, Default::default()).await;
    for n in 1..=5 {
        let d = doc(
            &format!("A-{n}"),
            "reporting",
            "green",
            "x",
            "<Address category=\"ipv4-addr\">192.0.2.1</Address>",
        );
        server
            .store
            .put(envelope("a", &format!("a{n}"), &d))
            .await
            .unwrap();
    }
    let d = doc(
        "B-1",
        "watch",
        "amber",
        "x",
        "<Address category=\"ipv4-addr\">192.0.2.2</Address>",
    );
    server.store.put(envelope("b", "b1", &d)).await.unwrap();
    let http = common::rolie::client();
    let get = |path: &str, token: Option<&str>| {
        let mut r = http.get(server.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let r = r.send().await.expect("GET");
            let status = r.status().as_u16();
            let csp = r
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, csp, r.text().await.unwrap())
        }
    };
    // The feeds' read rules.
    assert_eq!(get("/", None).await.0, 401);
    assert_eq!(get("/web/live", Some("wrong")).await.0, 401);
    assert_eq!(get("/web/topics/b", Some("scoped-token")).await.0, 403);
    assert_eq!(
        get("/web/topics/b/items/b1", Some("scoped-token")).await.0,
        403
    );
    let (status, csp, index) = get("/", Some("scoped-token")).await;
    assert_eq!(status, 200);
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(
        index.contains("href=\"/web/topics/a\"") && !index.contains("/web/topics/b"),
        "{index}"
    );
    // A topic name is a grid member's choice too: escaped as text, encoded
    // as a path segment.
    let evil = "<img src=x onerror=alert(1)>\"/..";
    server.store.put(envelope(evil, "e1", &d)).await.unwrap();
    let (_, _, index) = get("/", Some("all-token")).await;
    assert!(index.contains("href=\"/web/topics/b\""), "{index}");
    assert!(!index.contains("<img"), "{index}");
    assert!(
        index.contains("&lt;img src=x onerror=alert(1)&gt;&quot;/.."),
        "{index}"
    );
    assert!(
        index.contains("href=\"/web/topics/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%2F..\""),
        "{index}"
    );
    let (status, _, page) = get(
        "/web/topics/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%2F..",
        Some("all-token"),
    )
    .await;
    assert!(status == 200 && page.contains("&lt;img"), "{status} {page}");
    // Pages of 2, with the feed's own cursor: the `older` link of the
    // first page is the feed's `next` link.
    let (_, _, feed) = get("/rolie/feeds/a", Some("all-token")).await;
    // `<link rel="next" href="…?before=N"/>`, attributes in either order.
    let next_tag = feed
        .split("<link")
        .find(|t| t.contains("rel=\"next\""))
        .expect("feed next link");
    let next: String = next_tag
        .split("?before=")
        .nth(1)
        .expect("a before cursor")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let mut path = "/web/topics/a".to_owned();
    let mut seen = Vec::new();
    for page in 0.. {
        let (status, _, html) = get(&path, Some("all-token")).await;
        assert_eq!(status, 200, "{path}");
        let ids: Vec<String> = html
            .split("class=\"incident\"")
            .skip(1)
            .filter_map(|s| s.split('>').nth(1)?.split('<').next().map(str::to_owned))
            .collect();
        seen.extend(ids);
        let Some(older) = html.split("id=\"older\" href=\"").nth(1) else {
            break;
        };
        let older = older.split('"').next().unwrap().replace("&amp;", "&");
        if page == 0 {
            assert_eq!(older, format!("/web/topics/a?before={next}"));
        }
        path = older;
    }
    assert_eq!(seen, ["A-5", "A-4", "A-3", "A-2", "A-1"]);
    // A filter that matches nothing still pages to the end without error.
    let (status, _, html) = get("/web/topics/a?purpose=watch", Some("all-token")).await;
    assert!(
        status == 200 && html.contains("No incidents match"),
        "{html}"
    );
    // The incident page links the item's ROLIE forms.
    let (status, csp, html) = get("/web/topics/a/items/a3", Some("all-token")).await;
    assert_eq!(status, 200);
    assert!(!csp.is_empty());
    assert!(
        html.contains("href=\"/rolie/feeds/a/entries/a3/iodef.xml\""),
        "{html}"
    );
    assert!(
        html.contains("href=\"/rolie/feeds/a/entries/a3\""),
        "{html}"
    );
    // The assets are ours, with the same headers.
    let (status, csp, js) = get("/web/static/live.js", None).await;
    assert!(status == 200 && !csp.is_empty() && js.contains("textContent"));
    assert_eq!(get("/web/topics/nope", Some("all-token")).await.0, 404);
    // The live stream resumes after `Last-Event-ID` (a sequence number),
    // and shows a scoped reader only its topics: b1 (6) and the evil topic
    // (7) are skipped.
    let d = doc(
        "A-6",
        "watch",
        "green",
        "x",
        "<Address category=\"ipv4-addr\">192.0.2.3</Address>",
    );
    server.store.put(envelope("a", "a6", &d)).await.unwrap();
    for (token, want) in [
        ("all-token", ["4", "5", "6", "7", "8"].as_slice()),
        ("scoped-token", &["8"]),
    ] {
        let resume_at = if want.len() > 1 { "3" } else { "5" };
        let mut r = http
            .get(server.url("/web/events"))
            .bearer_auth(token)
            .header("last-event-id", resume_at)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        let mut text = String::new();
        let ids = |text: &str| -> Vec<String> {
            text.split("\n\n")
                .filter(|e| e.contains("event: incident"))
                .filter_map(|e| {
                    e.lines()
                        .find_map(|l| l.strip_prefix("id: "))
                        .map(str::to_owned)
                })
                .collect()
        };
        while ids(&text).len() < want.len() {
            let chunk = tokio::time::timeout(Duration::from_secs(5), r.chunk())
                .await
                .expect("events within 5 s")
                .unwrap()
                .expect("stream still open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert_eq!(ids(&text), want, "{token}: {text}");
        assert!(text.contains("\"incident_id\":\"A-6\""), "{text}");
    }
    assert_eq!(
        get("/web/topics/a?before=0", Some("all-token")).await.0,
        400
    );
}
