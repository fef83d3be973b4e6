//! Helpers of tests/hostile_input.rs and tests/secure_defaults.rs: a lab
//! Prosody whose passwords are distinctive strings (so a search of the logs
//! for them means something), the real `gridlink bridge` and `gridlink
//! subscribe` processes with every output line captured, the slixmpp peer as
//! a foreign client writing raw bytes, and raw HTTP for requests no polite
//! client would send.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridlink::grid::{AccessModel, Affiliation, Grid, GridEvent, Payload, TopicOptions};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::{Prosody, ProsodyOptions};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use super::cli::gridlink_async;
use super::fixtures::{fixture, fixture_bytes, VALID};
use super::prosody::start_prosody;
use super::python::python;

/// Passwords and the write token: long, unique strings that cannot occur in
/// a log by accident.
pub const PUBLISHER_PW: &str = "pub-S3cr3t-7f1c9a4e";
pub const SUBSCRIBER_PW: &str = "sub-S3cr3t-2b8e4d71";
pub const BRIDGE_PW: &str = "brg-S3cr3t-5d0a6f38";
pub const TOKEN: &str = "tok-S3cr3t-9e3b71c2";
pub const TOPIC: &str = "incidents";
/// The item id the foreign client uses for its hostile items.
pub const HOSTILE_ID: &str = "hostile-item";

/// A child process whose stdout and stderr lines are collected as they come
/// (pipes are drained continuously, so a chatty process never blocks).
pub struct Proc {
    pub name: String,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

fn drain(pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        let mut r = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => into
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf).trim_end().to_owned()),
            }
        }
    });
}

impl Proc {
    pub fn spawn(name: &str, mut c: Command) -> Proc {
        c.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let mut child = c.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout = Arc::default();
        let stderr = Arc::default();
        drain(child.stdout.take().unwrap(), Arc::clone(&stdout));
        drain(child.stderr.take().unwrap(), Arc::clone(&stderr));
        Proc {
            name: name.into(),
            child,
            stdout,
            stderr,
        }
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Everything the process wrote so far, stdout then stderr.
    pub fn output(&self) -> String {
        format!(
            "{}\n{}",
            self.stdout_lines().join("\n"),
            self.stderr_lines().join("\n")
        )
    }

    /// Waits for a line on stdout (or stderr) matching `want`.
    pub async fn wait_line(
        &mut self,
        on_stderr: bool,
        within: Duration,
        want: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let lines = if on_stderr {
                self.stderr_lines()
            } else {
                self.stdout_lines()
            };
            if let Some(l) = lines.iter().find(|l| want(l)) {
                return l.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the drain tasks a moment to collect the last lines.
                tokio::time::sleep(Duration::from_millis(200)).await;
                panic!(
                    "{} exited ({status}) before the expected line:\n{}",
                    self.name,
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{}: expected line not seen within {within:?}; output so far:\n{}",
                self.name,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the process (SIGKILL to this child only) and waits for it.
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a command to completion within `limit`; returns (exit code, stdout, stderr).
pub async fn run(mut c: Command, limit: Duration) -> (Option<i32>, String, String) {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = tokio::time::timeout(limit, c.output())
        .await
        .unwrap_or_else(|_| panic!("command still running after {limit:?}: {c:?}"))
        .expect("spawn");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A lab Prosody with `publisher` (pubsub admin), `subscriber` and
/// `bridge`, whose passwords are the constants above.
pub fn prosody_with_secret_passwords() -> Prosody {
    start_prosody(ProsodyOptions {
        users: vec![
            ("publisher".into(), PUBLISHER_PW.into()),
            ("subscriber".into(), SUBSCRIBER_PW.into()),
            ("bridge".into(), BRIDGE_PW.into()),
        ],
        ..ProsodyOptions::default()
    })
}

/// How to start the [`Lab`].
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// `RUST_LOG` for the gridlink processes (None: their `-v` default).
    pub rust_log: Option<String>,
    /// The bridge's `request_timeout_secs`.
    pub request_timeout_secs: u64,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            rust_log: None,
            request_timeout_secs: 20,
        }
    }
}

/// Prosody, an open IODEF topic, a `gridlink bridge` process (strict
/// ingest) and a `gridlink subscribe` process (strict) following it, and the
/// publisher's own session for good items and history checks.
pub struct Lab {
    pub prosody: Prosody,
    pub publisher: Grid,
    pub bridge: Proc,
    pub subscriber: Proc,
    pub addr: SocketAddr,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub opts: LabOptions,
    good_sent: usize,
}

impl Lab {
    pub async fn start(opts: LabOptions) -> Lab {
        let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
        let p = prosody_with_secret_passwords();
        let publisher = Grid::connect(p.client_config("publisher", PUBLISHER_PW))
            .await
            .expect("publisher joins");
        publisher
            .create_topic(
                TOPIC,
                &TopicOptions {
                    access_model: AccessModel::Open,
                    ..Default::default()
                },
            )
            .await
            .expect("create topic");
        publisher
            .set_affiliation(
                TOPIC,
                &"bridge@localhost".parse().unwrap(),
                Affiliation::Publisher,
            )
            .await
            .expect("bridge may publish");
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::write(&tokens, format!("# hostile tests\n{TOKEN}\n")).unwrap();
        let cfg = dir.path().join("gridlink.toml");
        std::fs::write(
            &cfg,
            format!(
                "[bridge]\nlisten = \"127.0.0.1:0\"\ntopics = [\"{TOPIC}\"]\nwrite_token_file = \"{}\"\nrequest_timeout_secs = {}\n",
                tokens.display(),
                opts.request_timeout_secs
            ),
        )
        .unwrap();
        let mut c = gridlink_async(&p, "bridge", BRIDGE_PW);
        c.arg("--config")
            .arg(&cfg)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(["-v", "bridge", "--ingest-validate", "strict", "--store"])
            .arg(dir.path().join("bridge.sqlite"));
        if let Some(l) = &opts.rust_log {
            c.env("RUST_LOG", l);
        }
        let mut bridge = Proc::spawn("gridlink bridge", c);
        let line = bridge
            .wait_line(true, Duration::from_secs(30), |l| {
                l.contains("serving ROLIE on ")
            })
            .await;
        let addr: SocketAddr = line
            .split("serving ROLIE on ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let mut c = gridlink_async(&p, "subscriber", SUBSCRIBER_PW);
        c.args(["-v", "subscribe", "--topic", TOPIC, "--validate", "strict"]);
        if let Some(l) = &opts.rust_log {
            c.env("RUST_LOG", l);
        }
        let mut subscriber = Proc::spawn("gridlink subscribe", c);
        subscriber
            .wait_line(true, Duration::from_secs(30), |l| {
                l.contains("subscribed") && l.contains(TOPIC)
            })
            .await;
        Lab {
            prosody: p,
            publisher,
            bridge,
            subscriber,
            addr,
            base: format!("http://{addr}"),
            dir,
            opts,
            good_sent: 0,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The feed's entries (count of `<entry`) and its text.
    pub async fn feed(&self) -> (usize, String) {
        let r = client()
            .get(self.url(&format!("/rolie/feeds/{TOPIC}")))
            .send()
            .await
            .expect("GET feed");
        assert_eq!(r.status(), 200, "GET feed");
        let text = r.text().await.unwrap();
        (text.matches("<entry").count(), text)
    }

    /// Item ids the broker keeps on the topic (good or not).
    pub async fn broker_items(&self) -> Vec<String> {
        let events = self
            .publisher
            .items(TOPIC, None, None, ValidationLevel::Off)
            .await
            .expect("items retrieval");
        let mut ids: Vec<String> = events
            .into_iter()
            .filter_map(|e| match e {
                GridEvent::Item { envelope, .. } => Some(envelope.item_id),
                GridEvent::Rejected { item_id, .. } => Some(item_id),
                _ => None,
            })
            .collect();
        ids.sort();
        ids
    }

    /// The bridge answers `/healthz` 200 and both processes still run.
    pub async fn assert_alive(&mut self) {
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            client().get(self.url("/healthz")).send(),
        )
        .await
        .expect("/healthz answered within 5 s")
        .expect("/healthz");
        assert_eq!(r.status(), 200, "/healthz");
        assert!(
            self.bridge.alive(),
            "bridge died:\n{}",
            self.bridge.output()
        );
        assert!(
            self.subscriber.alive(),
            "subscriber died:\n{}",
            self.subscriber.output()
        );
    }

    /// Publishes the next valid fixture as the publisher and waits until
    /// the subscriber prints it and the bridge serves it: the grid still
    /// flows after whatever came before. Returns the item id.
    pub async fn good_item_flows(&mut self) -> String {
        let rel = VALID[self.good_sent % VALID.len()];
        self.good_sent += 1;
        let payload =
            Payload::prepare(&fixture_bytes(rel), ValidationLevel::Strict, 1 << 20).unwrap();
        let id = self
            .publisher
            .publish(TOPIC, &payload)
            .await
            .expect("good publish");
        let needle = format!("\"item_id\":\"{id}\"");
        self.subscriber
            .wait_line(false, Duration::from_secs(20), |l| {
                l.contains("\"kind\":\"item\"") && l.contains(&needle)
            })
            .await;
        let enc = id.replace(':', "%3A");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, feed) = self.feed().await;
            if feed.contains(&enc) {
                break;
            }
            assert!(Instant::now() < deadline, "{id} never reached the feed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.assert_alive().await;
        id
    }

    /// `gridlink publish` of `bytes` (as file `name`): exit code 1, one line
    /// naming the file and containing each of `expect`, nothing new on the
    /// broker. Returns that line.
    pub async fn cli_publish_refused(&self, name: &str, bytes: &[u8], expect: &[&str]) -> String {
        let before = self.broker_items().await;
        let file = self.dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let mut c = gridlink_async(&self.prosody, "publisher", PUBLISHER_PW);
        c.args(["publish", "--topic", TOPIC]).arg(&file);
        let t = Instant::now();
        let (code, out, err) = run(c, Duration::from_secs(60)).await;
        assert_eq!(code, Some(1), "exit code; stderr:\n{err}");
        assert!(out.trim().is_empty(), "nothing published, stdout: {out}");
        assert!(!err.contains("panicked"), "{err}");
        let about: Vec<&str> = err
            .lines()
            .filter(|l| l.contains(&file.display().to_string()))
            .collect();
        assert_eq!(about.len(), 1, "one line about the file:\n{err}");
        for e in expect {
            assert!(
                about[0].contains(e),
                "the error line does not say {e:?}: {}",
                about[0]
            );
        }
        let rest: Vec<&str> = err.lines().filter(|l| !about.contains(l)).collect();
        assert_eq!(
            rest,
            vec!["1 of 1 document(s) not published"],
            "stderr:\n{err}"
        );
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "took {:?}",
            t.elapsed()
        );
        assert_eq!(
            self.broker_items().await,
            before,
            "the broker got something"
        );
        about[0].to_owned()
    }

    /// POSTs `body` with the token and `content_type`; expects `status`, a
    /// message containing `expect`, no new feed entry, nothing new on the
    /// broker and a living bridge.
    pub async fn post_refused(
        &mut self,
        content_type: Option<&str>,
        token: Option<&str>,
        body: Vec<u8>,
        status: u16,
        expect: &str,
    ) {
        let (n_before, _) = self.feed().await;
        let items_before = self.broker_items().await;
        let mut rq = client()
            .post(self.url(&format!("/rolie/feeds/{TOPIC}")))
            .body(body);
        if let Some(ct) = content_type {
            rq = rq.header("content-type", ct);
        }
        if let Some(t) = token {
            rq = rq.bearer_auth(t);
        }
        let r = rq.send().await.expect("POST answered");
        let got = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        assert_eq!(got, status, "{content_type:?}: {text}");
        assert!(
            text.contains(expect),
            "{status} body lacks {expect:?}: {text}"
        );
        self.assert_unchanged(n_before, &items_before).await;
    }

    /// No new feed entry, no new broker item, still alive.
    pub async fn assert_unchanged(&mut self, feed_entries: usize, broker: &[String]) {
        let (n, feed) = self.feed().await;
        assert_eq!(n, feed_entries, "a feed entry appeared:\n{feed}");
        assert!(!feed.contains(HOSTILE_ID), "{feed}");
        assert_eq!(
            self.broker_items().await,
            broker,
            "the broker got something"
        );
        self.assert_alive().await;
    }

    /// A foreign client (slixmpp) writes a publish request carrying `bytes`
    /// verbatim as the item payload; returns its JSON outcome line.
    pub async fn foreign_publish(&self, bytes: &[u8]) -> serde_json::Value {
        let file = self.dir.path().join("foreign-payload");
        std::fs::write(&file, bytes).unwrap();
        let mut c: Command = python().into();
        c.arg(fixture("../py/slix_peer.py"))
            .arg("publish-raw")
            .args(["--jid", "publisher@localhost", "--password", PUBLISHER_PW])
            .args(["--port", &self.prosody.c2s_port.to_string()])
            .arg("--ca")
            .arg(&self.prosody.ca.ca_pem)
            .args(["--node", TOPIC, "--item-id", HOSTILE_ID])
            .arg(&file)
            .kill_on_drop(true);
        let (code, out, err) = run(c, Duration::from_secs(90)).await;
        assert_eq!(code, Some(0), "slix_peer failed:\n{out}\n{err}");
        serde_json::from_str(out.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("slix_peer output {out:?}: {e}"))
    }

    /// The broker refused the foreign publish (it closed the sender's
    /// stream or answered an error): gridlink saw nothing, stored nothing,
    /// and still delivers the next good item.
    pub async fn foreign_refused_by_broker(&mut self, bytes: &[u8]) -> serde_json::Value {
        let (n_before, _) = self.feed().await;
        let outcome = self.foreign_publish(bytes).await;
        assert_ne!(outcome["outcome"], "published", "{outcome}");
        self.good_item_flows().await;
        let hostile = |l: &String| l.contains(HOSTILE_ID);
        assert!(
            !self.subscriber.stdout_lines().iter().any(hostile),
            "{}",
            self.subscriber.output()
        );
        let (n, feed) = self.feed().await;
        assert_eq!(n, n_before + 1, "{feed}");
        assert!(!feed.contains(HOSTILE_ID), "{feed}");
        assert!(!self.broker_items().await.contains(&HOSTILE_ID.to_owned()));
        outcome
    }

    /// The broker accepted the foreign publish: `gridlink subscribe` prints
    /// one `rejected` line whose reason contains `reason`, the bridge logs
    /// the rejection and serves nothing of it, and both keep going.
    pub async fn foreign_rejected_by_gridlink(&mut self, bytes: &[u8], reason: &str) {
        let (n_before, _) = self.feed().await;
        let outcome = self.foreign_publish(bytes).await;
        assert_eq!(outcome["outcome"], "published", "{outcome}");
        let line = self
            .subscriber
            .wait_line(false, Duration::from_secs(20), |l| {
                l.contains("\"kind\":\"rejected\"") && l.contains(HOSTILE_ID)
            })
            .await;
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let why = v["reason"].as_str().unwrap_or_default();
        assert!(why.contains(reason), "reason {why:?} lacks {reason:?}");
        self.bridge
            .wait_line(true, Duration::from_secs(20), |l| {
                l.contains("rejected item") && l.contains(HOSTILE_ID)
            })
            .await;
        self.good_item_flows().await;
        let (n, feed) = self.feed().await;
        assert_eq!(n, n_before + 1, "{feed}");
        assert!(!feed.contains(HOSTILE_ID), "{feed}");
        let entry = client()
            .get(self.url(&format!("/rolie/feeds/{TOPIC}/entries/{HOSTILE_ID}")))
            .send()
            .await
            .unwrap();
        assert_eq!(entry.status(), 404);
    }
}

pub fn client() -> reqwest::Client {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// What a raw HTTP exchange gave.
#[derive(Debug)]
pub struct Raw {
    /// The status code, when a response came.
    pub status: Option<u16>,
    /// Everything read, lossy UTF-8.
    pub text: String,
    /// Whether the server closed the connection (EOF or reset) in time.
    pub closed: bool,
    /// When the first byte of the answer (or the close) came.
    pub answered_after: Duration,
}

/// Writes `head` and then `body` (in the background, ignoring errors: the
/// server may answer early and close), and reads what comes back for up to
/// `within`.
pub async fn raw_http(addr: SocketAddr, head: String, body: Vec<u8>, within: Duration) -> Raw {
    let sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = sock.into_split();
    let t = Instant::now();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(head.as_bytes()).await;
        let _ = wr.write_all(&body).await;
        // Keep the write half open: a stalled client does not hang up.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(wr);
    });
    let r = read_answer(&mut rd, t, within).await;
    writer.abort();
    r
}

/// Reads until EOF/reset or `within` has passed since `t`.
pub async fn read_answer(
    rd: &mut (impl tokio::io::AsyncRead + Unpin),
    t: Instant,
    within: Duration,
) -> Raw {
    let mut got = Vec::new();
    let mut first = None;
    let mut closed = false;
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::from_std(t + within);
    loop {
        match tokio::time::timeout_at(deadline, rd.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                first.get_or_insert(t.elapsed());
                closed = true;
                break;
            }
            Ok(Ok(n)) => {
                first.get_or_insert(t.elapsed());
                got.extend_from_slice(&buf[..n]);
            }
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok());
    Raw {
        status,
        text,
        closed,
        answered_after: first.unwrap_or(within),
    }
}
