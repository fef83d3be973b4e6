//! The ROLIE poller against hostile feeds (issue 18): oversized bodies,
//! feeds that point the bridge at other hosts (SSRF), credentials in poll
//! URLs, poisoned entries, and the modes of the files gridlink creates.
//! Every feed is a real HTTP server on 127.0.0.1 started by the test; the
//! poller uses its real client.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{fixture_bytes, VALID};
use gridlink::rolie::poll::{PollClient, PollError, Poller, MAX_BODY};
use gridlink::rolie::{BoxFuture, PublishBody, PublishError, Published, Publisher};

/// A publisher that keeps what it is given.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    fn docs(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Publisher for Recorder {
    fn publish<'a>(
        &'a self,
        _topic: &'a str,
        body: PublishBody,
    ) -> BoxFuture<'a, Result<Published, PublishError>> {
        Box::pin(async move {
            let (PublishBody::Xml(d) | PublishBody::Json(d)) = body;
            let mut docs = self.0.lock().unwrap();
            docs.push(d);
            Ok(format!("item-{}", docs.len()).into())
        })
    }

    fn retract<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A web server on 127.0.0.1 answering every request through `route`
/// (path and query, Host header) and remembering what it was asked.
struct Web {
    base: String,
    port: u16,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Web {
    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

async fn web<F>(route: F) -> Web
where
    F: Fn(&str, &str) -> Response + Clone + Send + Sync + 'static,
{
    let hits = Arc::new(Mutex::new(Vec::new()));
    let seen = hits.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let route = route.clone();
        let seen = seen.clone();
        async move {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .to_string();
            let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
            seen.lock().unwrap().push(format!("{host}{path}"));
            route(&path, &host)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Web {
        base: format!("http://127.0.0.1:{port}"),
        port,
        hits,
    }
}

fn doc(n: usize) -> String {
    String::from_utf8(fixture_bytes(VALID[n])).unwrap()
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn redirect(status: StatusCode, to: &str) -> Response {
    (status, [(header::LOCATION, to.to_string())]).into_response()
}

/// An Atom feed of `entries` (entry attributes, content `src`), newest
/// first as given.
fn feed(entries: &[(&str, &str)]) -> String {
    let mut out = String::from(
        "<feed xmlns='http://www.w3.org/2005/Atom'><id>urn:t</id><title>t</title>\
         <updated>2026-11-09T00:00:00Z</updated>",
    );
    for (i, (attrs, src)) in entries.iter().enumerate() {
        let n = entries.len() - i;
        out.push_str(&format!(
            "<entry {attrs}><id>urn:t:{n}</id><title>{n}</title>\
             <updated>2026-11-0{n}T00:00:00Z</updated>\
             <content type='application/xml' src='{src}'/></entry>"
        ));
    }
    out.push_str("</feed>");
    out
}

/// A poller of `feed` (publishing into `rec`) allowed `allow` besides the
/// feed's origin, with its state in `dir`.
fn poller(feed: &str, allow: &[&str], rec: &Recorder, dir: &Path) -> Poller {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cfg = gridlink::Config::new(
        "poller@localhost".parse().unwrap(),
        gridlink::config::Secret::new("unused"),
    );
    let allow = allow.iter().map(|a| a.parse().unwrap()).collect();
    let clients = PollClient::new(&cfg, allow).unwrap();
    Poller::new(
        format!("{feed}=mirror").parse().unwrap(),
        &clients,
        Arc::new(rec.clone()),
        dir,
        Duration::from_secs(60),
    )
    .unwrap()
}

/// Counts the bytes a streamed body handed out and whether it was dropped
/// before its end (the client hung up).
struct Meter {
    sent: Arc<AtomicU64>,
    cut: Arc<AtomicBool>,
}

impl Drop for Meter {
    fn drop(&mut self) {
        if self.sent.load(Ordering::SeqCst) < (TOTAL * CHUNK) as u64 {
            self.cut.store(true, Ordering::SeqCst);
        }
    }
}

const CHUNK: usize = 64 * 1024;
const TOTAL: usize = 4096; // chunks

/// 256 MiB in 64 KiB chunks, without Content-Length.
fn endless(sent: Arc<AtomicU64>, cut: Arc<AtomicBool>) -> Response {
    let meter = Meter { sent, cut };
    let head = "<feed xmlns='http://www.w3.org/2005/Atom'><id>urn:big</id><title>".to_string();
    let stream = futures::stream::unfold((0usize, meter), move |(i, m)| {
        let head = head.clone();
        async move {
            if i == TOTAL {
                return None;
            }
            let chunk = if i == 0 {
                let mut c = head.into_bytes();
                c.resize(CHUNK, b'x');
                c
            } else {
                vec![b'x'; CHUNK]
            };
            m.sent.fetch_add(CHUNK as u64, Ordering::SeqCst);
            Some((Ok::<_, std::io::Error>(chunk), (i + 1, m)))
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/atom+xml")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// A feed (and an entry's content) streaming 256 MiB without
/// Content-Length: the poller stops reading at its 4 MiB limit, hangs up,
/// and says which URL and which limit; the entry is skipped, the entry
/// behind it published.
#[tokio::test]
async fn oversized_bodies_are_abandoned_at_the_limit() {
    let sent = Arc::new(AtomicU64::new(0));
    let cut = Arc::new(AtomicBool::new(false));
    let (s, c) = (sent.clone(), cut.clone());
    let w = web(move |path, _| match path {
        "/big-feed" | "/big-doc" => endless(s.clone(), c.clone()),
        "/feed" => xml(feed(&[("", "/big-doc"), ("", "/doc")])),
        "/doc" => xml(doc(0)),
        _ => StatusCode::NOT_FOUND.into_response(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::default();
    let p = poller(&format!("{}/big-feed", w.base), &[], &rec, dir.path());
    let started = Instant::now();
    let e = p.poll_once().await.expect_err("an oversized feed");
    let msg = e.to_string();
    assert!(matches!(e, PollError::Body(..)), "{e:?}");
    assert!(msg.contains(&format!("{}/big-feed", w.base)), "{msg}");
    assert!(msg.contains(&MAX_BODY.to_string()), "{msg}");
    // The server notices the hang-up soon after the limit (plus what the
    // sockets' buffers held), far from the 256 MiB it offered.
    for _ in 0..100 {
        if cut.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cut.load(Ordering::SeqCst), "the connection was not closed");
    let n = sent.load(Ordering::SeqCst);
    assert!(n < 32 * 1024 * 1024, "{n} bytes sent");
    assert!(started.elapsed() < Duration::from_secs(20));

    // The same for an entry's content: skipped, the next one published.
    sent.store(0, Ordering::SeqCst);
    cut.store(false, Ordering::SeqCst);
    let p = poller(&format!("{}/feed", w.base), &[], &rec, dir.path());
    assert_eq!(p.poll_once().await.unwrap(), 1);
    assert_eq!(p.stats.skipped.load(Ordering::Relaxed), 1);
    assert_eq!(rec.docs(), vec![doc(0)]);
    let n = sent.load(Ordering::SeqCst);
    assert!(n < 32 * 1024 * 1024, "{n} bytes sent");
}

/// Content on another port, on another host name of the same server, or
/// behind an `xml:base` naming another host is not fetched: the entries
/// are skipped (and counted), the same-origin entry is published, and the
/// other origins never see a request.
#[tokio::test]
async fn content_stays_on_the_feeds_origin() {
    let other = web(|_, _| xml(doc(1))).await;
    let other_base = other.base.clone();
    let w2 = web(move |path, host| match path {
        // `host` is 127.0.0.1:PORT; localhost:PORT is the same server.
        "/feed" => {
            let port = host.rsplit(':').next().unwrap_or("");
            xml(feed(&[
                ("", &format!("{other_base}/doc")),
                ("", &format!("http://localhost:{port}/doc-by-name")),
                (
                    &format!("xml:base='http://localhost:{port}/'"),
                    "doc-by-base",
                ),
                ("", "/doc"),
            ]))
        }
        _ => xml(doc(0)),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::default();
    let p = poller(&format!("{}/feed", w2.base), &[], &rec, dir.path());
    assert_eq!(p.poll_once().await.unwrap(), 1);
    assert_eq!(rec.docs(), vec![doc(0)]);
    assert_eq!(p.stats.skipped.load(Ordering::Relaxed), 3);
    assert!(other.hits().is_empty(), "{:?}", other.hits());
    let asked = w2.hits();
    assert_eq!(
        asked,
        vec![
            format!("127.0.0.1:{}/feed", w2.port),
            format!("127.0.0.1:{}/doc", w2.port)
        ],
        "only the feed and its own content"
    );
    // Skipped for good: the next round asks for nothing but the feed.
    assert_eq!(p.poll_once().await.unwrap(), 0);
    assert!(other.hits().is_empty());
}

/// `--poll-allow ORIGIN` lets content come from that origin (and only
/// that one).
#[tokio::test]
async fn allowed_origins_are_fetched() {
    let other = web(|_, _| xml(doc(1))).await;
    let third = web(|_, _| xml(doc(2))).await;
    let feed_xml = feed(&[
        ("", &format!("{}/doc", other.base)),
        ("", &format!("{}/doc", third.base)),
    ]);
    let w = web(move |_, _| xml(feed_xml.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::default();
    let p = poller(
        &format!("{}/feed", w.base),
        &[&other.base],
        &rec,
        dir.path(),
    );
    assert_eq!(p.poll_once().await.unwrap(), 1);
    assert_eq!(rec.docs(), vec![doc(1)]);
    assert_eq!(other.hits().len(), 1);
    assert!(third.hits().is_empty());
}

/// A content redirect to another origin (a cloud metadata path) and a 301
/// of the feed itself to another origin are not followed; same-origin
/// redirects still are.
#[tokio::test]
async fn redirects_stay_on_the_feeds_origin() {
    let metadata = web(|_, _| xml(doc(1))).await;
    let target = format!(
        "{}/latest/meta-data/iam/security-credentials/",
        metadata.base
    );
    let moved = format!("{}/feed", metadata.base);
    let w = web(move |path, _| match path {
        "/feed" => xml(feed(&[("", "/to-metadata"), ("", "/to-doc")])),
        "/moved-feed" => redirect(StatusCode::MOVED_PERMANENTLY, &moved),
        "/to-metadata" => redirect(StatusCode::FOUND, &target),
        "/to-doc" => redirect(StatusCode::FOUND, "/doc"),
        "/doc" => xml(doc(0)),
        _ => StatusCode::NOT_FOUND.into_response(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::default();
    let p = poller(&format!("{}/feed", w.base), &[], &rec, dir.path());
    assert_eq!(p.poll_once().await.unwrap(), 1);
    assert_eq!(
        rec.docs(),
        vec![doc(0)],
        "the same-origin redirect is followed"
    );
    assert_eq!(p.stats.skipped.load(Ordering::Relaxed), 1);

    let p = poller(&format!("{}/moved-feed", w.base), &[], &rec, dir.path());
    let e = p
        .poll_once()
        .await
        .expect_err("a feed moved to another origin");
    assert!(matches!(e, PollError::Refused(..)), "{e:?}");
    assert_eq!(p.stats.errors.load(Ordering::Relaxed), 1);
    assert!(e.to_string().contains("outside the feed's origin"), "{e}");
    assert!(metadata.hits().is_empty(), "{:?}", metadata.hits());
    assert_eq!(rec.docs().len(), 1);
}

/// A host name that resolves to a loopback address counts as one: a
/// client for a feed that is not on a private address refuses it even
/// when its origin is allowed, and the server never sees a request.
#[tokio::test]
async fn private_addresses_found_by_dns_are_refused() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let w = web(|_, _| xml(doc(0))).await;
    let by_name = format!("http://localhost:{}", w.port);
    let cfg = gridlink::Config::new(
        "poller@localhost".parse().unwrap(),
        gridlink::config::Secret::new("unused"),
    );
    let clients = PollClient::new(&cfg, vec![by_name.parse().unwrap()]).unwrap();
    let client = clients
        .client_for("https://feeds.example/rolie/feed")
        .unwrap();
    let e = client
        .get(format!("{by_name}/doc"))
        .send()
        .await
        .expect_err("localhost refused");
    let mut chain = format!("{e}");
    let mut s = std::error::Error::source(&e);
    while let Some(x) = s {
        chain.push_str(&format!(": {x}"));
        s = x.source();
    }
    assert!(chain.contains("loopback, link-local or private"), "{chain}");
    assert!(w.hits().is_empty());

    // A feed on loopback may fetch its loopback content (the lab's case).
    let client = clients.client_for(&format!("{by_name}/feed")).unwrap();
    let r = client.get(format!("{by_name}/doc")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Poisoned entries — content on `file://` or `gopher://`, a redirect
/// loop, a redirect chain too long — are skipped like a 404 (counted,
/// warned about once) instead of failing every round and holding the feed
/// back for good.
#[tokio::test]
async fn poisoned_entries_are_skipped() {
    let w = web(|path, _| match path {
        "/feed" => xml(feed(&[
            ("", "file:///etc/passwd"),
            ("", "gopher://127.0.0.1:70/1"),
            ("", "/loop"),
            ("", "/hop/0"),
            ("", "/doc"),
        ])),
        "/loop" => redirect(StatusCode::FOUND, "/loop"),
        p if p.starts_with("/hop/") => {
            let n: u32 = p[5..].parse().unwrap_or(0);
            redirect(StatusCode::FOUND, &format!("/hop/{}", n + 1))
        }
        "/doc" => xml(doc(0)),
        _ => StatusCode::NOT_FOUND.into_response(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::default();
    let p = poller(&format!("{}/feed", w.base), &[], &rec, dir.path());
    assert_eq!(p.poll_once().await.unwrap(), 1);
    assert_eq!(rec.docs(), vec![doc(0)]);
    assert_eq!(p.stats.skipped.load(Ordering::Relaxed), 4);
    assert_eq!(p.stats.errors.load(Ordering::Relaxed), 0);
    let hops = w.hits().iter().filter(|h| h.contains("/hop/")).count();
    assert!(hops <= 7, "{hops} hops followed");
    // Remembered: the next round fetches nothing but the feed.
    let before = w.hits().len();
    assert_eq!(p.poll_once().await.unwrap(), 0);
    assert_eq!(w.hits().len(), before + 1);
}

/// `gridlink` with the lab connection flags for `user` (password `USER-pw`).
fn gridlink(p: &gridlink::lab::Prosody, user: &str, state: &Path) -> Command {
    let mut c = common::gridlink_at(p.c2s_port, &p.ca.ca_pem, user, &format!("{user}-pw"), state);
    c.stdin(Stdio::null());
    c
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A bridge polling URLs with credentials in them (user and password, an
/// `api_key`, a `token`) shows neither in its `-vvv` log nor in
/// `/metrics`; and what it and `publish` create (state dir, store, outbox,
/// poll state) only their owner can read.
#[test]
fn bridge_hides_poll_credentials_and_keeps_its_files_private() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let p = common::prosody();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let w = rt.block_on(web(|path, _| {
        if path.starts_with("/feed") {
            xml(feed(&[("", "/gone"), ("", "/doc")]))
        } else if path.starts_with("/busy") {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        } else if path == "/doc" {
            xml(doc(0))
        } else {
            StatusCode::NOT_FOUND.into_response()
        }
    }));
    let state = p.dir().join("state-poll-security");
    let secrets = ["pa55word", "K3Yvalue", "T0Kvalue", "S3Cvalue"];

    let mut c = gridlink(&p, "publisher", &state);
    c.args(["topic", "create", "mirror", "--access-model", "open"]);
    assert!(c.status().unwrap().success());
    let mut c = gridlink(&p, "publisher", &state);
    c.args(["publish", "--durable", "--topic", "mirror"])
        .arg(common::fixture(VALID[1]));
    assert!(c.status().unwrap().success());

    let port = w.port;
    let mut c = gridlink(&p, "publisher", &state);
    c.args(["-vvv", "bridge", "--listen", "127.0.0.1:0"])
        .arg("--poll")
        .arg(format!(
            "http://reader:pa55word@127.0.0.1:{port}/feed?api_key=K3Yvalue&page=1=mirror"
        ))
        .arg("--poll")
        .arg(format!(
            "http://127.0.0.1:{port}/busy?token=T0Kvalue&client_secret=S3Cvalue=mirror"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let log = log.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("serving ROLIE on ").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                let mut l = log.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
    }
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("bridge did not start: {}", log.lock().unwrap()));
    let metrics_url = format!("http://{addr}/metrics");
    let mut metrics = String::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        metrics = rt
            .block_on(async { reqwest::get(&metrics_url).await?.text().await })
            .unwrap_or_default();
        let skipped = metrics
            .lines()
            .any(|l| l.starts_with("gridlink_poll_skipped_total{") && l.ends_with(" 1"));
        let failed = metrics
            .lines()
            .any(|l| l.starts_with("gridlink_poll_errors_total{") && !l.ends_with(" 0"));
        if skipped && failed {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The files, seen while the bridge runs: its stores' SQLite WAL and shared-memory files
    // exist only then (a clean stop on SIGTERM removes them). Checked once it is stopped.
    let dir_modes = [mode(&state), mode(&state.join("poll"))];
    let mut files = Vec::new();
    for dir in [state.clone(), state.join("poll")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_file() {
                files.push((mode(&path), path));
            }
        }
    }
    let names: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(200));
    let log = log.lock().unwrap().clone();
    assert!(
        metrics.contains(&format!(
            "source=\"http://127.0.0.1:{port}/feed?api_key=REDACTED&page=1\""
        )),
        "{metrics}"
    );
    assert!(
        log.contains(&format!("127.0.0.1:{port}/busy?token=REDACTED")),
        "the log does not show the failing source: {log}"
    );
    assert!(log.contains("entry content unavailable"), "{log}");
    assert!(log.contains("TRACE"), "the log is not at trace level");
    for s in secrets {
        assert!(!metrics.contains(s), "{s} in /metrics: {metrics}");
        assert!(!log.contains(s), "{s} in the log");
    }

    assert_eq!(dir_modes, [0o700, 0o700], "state dir, poll state dir");
    for (m, path) in &files {
        assert_eq!(*m, 0o600, "{}", path.display());
    }
    assert!(names.iter().any(|n| n.contains("outbox")), "{names:?}");
    assert!(names.iter().any(|n| n == "bridge.sqlite"), "{names:?}");
    assert!(files.len() >= 4, "{names:?}");
}

/// A password file or a write token file others can read is warned about
/// (once) before anything else happens.
#[test]
fn shared_secret_files_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("password");
    let tokens = dir.path().join("tokens");
    std::fs::write(&pw, "s3cret\n").unwrap();
    std::fs::write(&tokens, "tok\n").unwrap();
    let run = |pw_mode: u32, tok_mode: u32| {
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(pw_mode)).unwrap();
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(tok_mode)).unwrap();
        let out = common::gridlink_bare()
            .env_clear()
            .env("GRIDLINK_STATE_DIR", dir.path().join("state"))
            .args(["--jid", "someone@localhost", "--server", "127.0.0.1:1"])
            .arg("--password-file")
            .arg(&pw)
            .args(["bridge", "--topic", "t", "--write-token-file"])
            .arg(&tokens)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(0o644, 0o640);
    assert_eq!(
        err.matches("password file is readable by other users")
            .count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.matches("write token file is readable by other users")
            .count(),
        1,
        "{err}"
    );
    let err = run(0o600, 0o600);
    assert!(!err.contains("readable by other users"), "{err}");
}

/// `--poll-allow ORIGIN` and the `[bridge]` table's `poll_allow` take
/// origins and refuse anything else (a path, credentials) before joining
/// the grid.
#[test]
fn poll_allow_takes_origins_from_flags_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let run = |config: &str, flags: &[&str]| {
        let path = dir.path().join("gridlink.toml");
        std::fs::write(&path, config).unwrap();
        let out = common::gridlink_bare()
            .env_clear()
            .env("GRIDLINK_STATE_DIR", dir.path().join("state"))
            .arg("--config")
            .arg(&path)
            .args(["--jid", "someone@localhost", "--password", "pw"])
            .args(["--server", "127.0.0.1:1", "bridge", "--topic", "t"])
            .args(flags)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let joining = "cannot join the grid";
    let err = run("", &["--poll-allow", "https://cdn.example:8443"]);
    assert!(err.contains(joining), "{err}");
    let err = run("", &["--poll-allow", "https://cdn.example/docs"]);
    assert!(err.contains("expected an origin"), "{err}");
    let err = run("[bridge]\npoll_allow = [\"http://10.0.0.5:8080\"]\n", &[]);
    assert!(err.contains(joining), "{err}");
    let err = run(
        "[bridge]\npoll_allow = [\"https://u:p@cdn.example\"]\n",
        &[],
    );
    assert!(
        err.contains("[bridge]") && err.contains("poll_allow"),
        "{err}"
    );
}
