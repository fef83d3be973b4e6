//! Shared helpers of the ROLIE/store tests: a server on 127.0.0.1:0 over a
//! temp store, IODEF fixtures as envelopes, and the independent checkers
//! (`jing`, Python `feedparser`), which must be installed — a missing
//! checker fails the test, it never skips.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use gridlink::envelope::Envelope;
use gridlink::rolie::{
    BoxFuture, Hooks, PublishBody, PublishError, Published, Publisher, RolieConfig, RolieServer,
};
use gridlink::store::Store;
use tokio::sync::oneshot;

pub const IODEF_NS: &str = "urn:ietf:params:xml:ns:iodef-2.0";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rolie")
}

/// The IODEF fixtures, each cut to its root element (an envelope document).
pub fn iodef_examples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(fixtures().join("iodef"))
        .expect("fixture dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).expect("fixture");
        let start = text.find("<IODEF-Document").expect("IODEF root");
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        out.push((name, text[start..].trim_end().to_owned()));
    }
    out
}

/// An envelope of `document` for `topic`/`item_id`.
pub fn envelope(topic: &str, item_id: &str, document: &str) -> Envelope {
    Envelope {
        topic: topic.into(),
        item_id: item_id.into(),
        publisher: Some("controller@grid.example".into()),
        received_at: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(),
        delayed_at: None,
        payload_ns: IODEF_NS.into(),
        document: document.into(),
    }
}

/// What the fake publisher was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Publish(String, PublishBody),
    Retract(String, String),
}

/// A publisher that records calls and "publishes" into the store itself,
/// as the real bridge's ingest would.
#[derive(Clone)]
pub struct FakePublisher {
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub store: Store,
    pub fail: Arc<Mutex<Option<PublishError>>>,
}

impl Publisher for FakePublisher {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        body: PublishBody,
    ) -> BoxFuture<'a, Result<Published, PublishError>> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap()
                .push(Call::Publish(topic.into(), body.clone()));
            if let Some(e) = self.fail.lock().unwrap().clone() {
                return Err(e);
            }
            let n = self.calls.lock().unwrap().len();
            let id = format!("posted-{n}");
            if let PublishBody::Xml(doc) = body {
                self.store
                    .put(envelope(topic, &id, &doc))
                    .await
                    .map_err(|e| PublishError::Refused(e.to_string()))?;
            }
            Ok(id.into())
        })
    }

    fn retract<'a>(
        &'a self,
        topic: &'a str,
        item_id: &'a str,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap()
                .push(Call::Retract(topic.into(), item_id.into()));
            match self.store.get(topic, item_id).await {
                Ok(Some(_)) => Ok(()),
                _ => Err(PublishError::NotFound),
            }
        })
    }
}

/// A running server; dropping it stops the server.
pub struct TestServer {
    pub base: String,
    pub store: Store,
    pub publisher: FakePublisher,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

pub fn base_config() -> RolieConfig {
    RolieConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..RolieConfig::default()
    }
}

/// Starts a server over a store file in `dir` (a fresh temp dir if None).
pub async fn start_in(
    dir: Option<tempfile::TempDir>,
    mut config: RolieConfig,
    hooks: Hooks,
) -> TestServer {
    let dir = dir.unwrap_or_else(|| tempfile::tempdir().expect("tempdir"));
    let store = Store::open(dir.path().join("rolie.sqlite")).expect("open store");
    if config.write_token_file.is_none() {
        let tokens = dir.path().join("tokens");
        std::fs::write(&tokens, "# test tokens\nsecret-token\nsecond-token\n").unwrap();
        config.write_token_file = Some(tokens);
    }
    let publisher = FakePublisher {
        calls: Arc::default(),
        store: store.clone(),
        fail: Arc::default(),
    };
    let scheme = if config.tls() { "https" } else { "http" };
    let server = RolieServer::bind(config, store.clone(), Arc::new(publisher.clone()), hooks)
        .await
        .expect("bind");
    let addr = server.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
    });
    TestServer {
        base: format!("{scheme}://{addr}"),
        store,
        publisher,
        dir,
        stop: Some(tx),
        task: Some(task),
    }
}

pub async fn start() -> TestServer {
    start_in(None, base_config(), Hooks::default()).await
}

/// A server whose topic `incidents` holds the four IODEF examples, and
/// topic `indicators` (configured as `indicator`) one.
pub async fn start_filled() -> TestServer {
    let mut config = base_config();
    config.topics.insert(
        "indicators".into(),
        gridlink::rolie::TopicSettings {
            information_type: Some("indicator".into()),
            title: Some("Indicators".into()),
            ..Default::default()
        },
    );
    let hooks = Hooks {
        json_form: Some(Arc::new(|e: &Envelope| {
            Ok(format!("{{\"item\":\"{}\"}}", e.item_id))
        })),
        ..Hooks::default()
    };
    let server = start_in(None, config, hooks).await;
    for (name, doc) in iodef_examples() {
        server
            .store
            .put(envelope("incidents", &name, &doc))
            .await
            .unwrap();
    }
    let (_, doc) = &iodef_examples()[1];
    server
        .store
        .put(envelope("indicators", "campaign", doc))
        .await
        .unwrap();
    server
}

pub fn client() -> reqwest::Client {
    // reqwest is built without a provider; gridlink's process default is aws-lc-rs.
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

pub async fn get(url: &str) -> reqwest::Response {
    client().get(url).send().await.expect("GET")
}

pub async fn get_text(url: &str) -> String {
    let r = get(url).await;
    assert_eq!(r.status(), 200, "GET {url}");
    r.text().await.unwrap()
}

fn checker_missing(what: &str, install: &str) -> ! {
    panic!("{what} is not available: install it ({install}); the ROLIE tests need this independent checker and do not skip without it")
}

/// Validates `xml` with `jing -c` against one of the fixture schemas.
pub fn jing(schema: &str, xml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let out = match Command::new("jing")
        .arg("-c")
        .arg(fixtures().join("schemas").join(schema))
        .arg(&file)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            checker_missing("jing", "apt-get install jing")
        }
        Err(e) => panic!("running jing: {e}"),
    };
    assert!(
        out.status.success(),
        "jing -c {schema} rejected the document:\n{}{}\n--- document ---\n{xml}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Parses a feed or entry with Python feedparser; returns its JSON summary
/// (see tests/py/rolie_feedparse.py).
pub fn feedparser(xml: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/rolie_feedparse.py");
    let out = match Command::new("python3").arg(script).arg(&file).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            checker_missing("python3", "the CI image's Python 3.11")
        }
        Err(e) => panic!("running python3: {e}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'feedparser'") {
        checker_missing(
            "Python module feedparser",
            "pip install -r tests/requirements.txt",
        );
    }
    assert!(out.status.success(), "feedparser script failed:\n{stderr}");
    serde_json::from_slice(&out.stdout).expect("feedparser JSON")
}

/// A minimal namespace-aware element tree (quick-xml), for structural
/// assertions on served documents.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub ns: String,
    pub name: String,
    pub attrs: std::collections::BTreeMap<String, String>,
    pub children: Vec<Node>,
    pub text: String,
}

impl Node {
    pub fn parse(xml: &str) -> Node {
        use quick_xml::events::Event;
        use quick_xml::name::ResolveResult;
        let mut reader = quick_xml::NsReader::from_str(xml);
        let mut stack: Vec<Node> = vec![Node::default()];
        loop {
            let (ns, ev) = reader.read_resolved_event().expect("well-formed XML");
            let ns = match ns {
                ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
                _ => String::new(),
            };
            let empty = matches!(&ev, Event::Empty(_));
            match ev {
                Event::Start(e) | Event::Empty(e) => {
                    let mut n = Node {
                        ns,
                        name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                        ..Node::default()
                    };
                    for a in e.attributes() {
                        let a = a.unwrap();
                        n.attrs.insert(
                            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                            a.unescape_value().unwrap().into_owned(),
                        );
                    }
                    stack.push(n);
                    if empty {
                        let n = stack.pop().unwrap();
                        stack.last_mut().unwrap().children.push(n);
                    }
                }
                Event::End(_) => {
                    let n = stack.pop().unwrap();
                    stack.last_mut().unwrap().children.push(n);
                }
                Event::Text(t) => stack
                    .last_mut()
                    .unwrap()
                    .text
                    .push_str(&t.xml_content().unwrap()),
                Event::GeneralRef(r) => {
                    let name = r.decode().unwrap();
                    let s = quick_xml::escape::resolve_predefined_entity(&name)
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            r.resolve_char_ref()
                                .unwrap()
                                .map(String::from)
                                .unwrap_or_default()
                        });
                    stack.last_mut().unwrap().text.push_str(&s);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        stack
            .pop()
            .unwrap()
            .children
            .into_iter()
            .next()
            .expect("root element")
    }

    /// Children in namespace `ns` named `name`.
    pub fn all<'a>(&'a self, ns: &str, name: &str) -> Vec<&'a Node> {
        self.children
            .iter()
            .filter(|c| c.ns == ns && c.name == name)
            .collect()
    }

    /// The only child `ns:name` (panics unless exactly one).
    pub fn one<'a>(&'a self, ns: &str, name: &str) -> &'a Node {
        let all = self.all(ns, name);
        assert_eq!(all.len(), 1, "expected exactly one {name} in {}", self.name);
        all[0]
    }

    pub fn attr(&self, name: &str) -> &str {
        self.attrs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {name} on {}", self.name))
    }

    /// `atom:link` children with `rel`.
    pub fn links<'a>(&'a self, rel: &str) -> Vec<&'a Node> {
        self.all(ATOM, "link")
            .into_iter()
            .filter(|l| l.attrs.get("rel").map(String::as_str) == Some(rel))
            .collect()
    }
}

pub const ATOM: &str = "http://www.w3.org/2005/Atom";
pub const APP: &str = "http://www.w3.org/2007/app";
pub const ROLIE: &str = "urn:ietf:params:xml:ns:rolie-1.0";
pub const INFO_TYPE: &str = "urn:ietf:params:rolie:category:information-type";
