//! gridlink on a 2-node ejabberd 23.01 cluster (issue 25, part 3 and test
//! 4(c)): the lab cluster (`gridlink::lab::EjabberdCluster`: replicated
//! mnesia, a private epmd) and gridlink's fail-over across `--server`s.
//!
//! | issue line | test |
//! |---|---|
//! | 3 publisher and subscriber on different nodes see the same topics and items | `nodes_share_topics_and_items` |
//! | 4(c) subscriber on node 1, publisher on node 2, node 1 `kill -9`'d mid-stream → 0 lost, 0 duplicated | `subscriber_fails_over_when_its_node_is_killed` |
//! | 3 a list of servers in `GRIDLINK_SERVER`, each tried in turn | `every_server_in_the_environment_is_tried` |
//!
//! Each fails with a clear message when ejabberd or epmd is missing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{gridlink_at, gridlink_bare};
use gridlink::grid::{AccessModel, Grid, GridEvent, Payload, TopicOptions, TopicSelection};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::{EjabberdCluster, EjabberdOptions};

const TOPIC: &str = "incidents";
/// Documents published through the node kill: enough that the kill lands
/// mid-stream, few enough for a debug build on a shared machine.
const STREAM: usize = 300;
/// How many confirmed publishes before node 1 is killed.
const KILL_AT: usize = 100;

fn cluster() -> EjabberdCluster {
    EjabberdCluster::start(EjabberdOptions::default(), 2).unwrap_or_else(|e| panic!("{e}"))
}

/// A library session for `user` that starts on node `i`.
async fn grid_on(c: &EjabberdCluster, i: usize, user: &str) -> Grid {
    Grid::connect(c.client_config(i, user, &format!("{user}-pw")))
        .await
        .unwrap_or_else(|e| panic!("{user} cannot join node {}: {e}", i + 1))
}

async fn open_topic(publisher: &Grid) {
    let opts = TopicOptions {
        access_model: AccessModel::Open,
        ..Default::default()
    };
    publisher
        .create_topic(TOPIC, &opts)
        .await
        .unwrap_or_else(|e| panic!("create topic: {e}"));
}

fn payload(n: usize) -> Payload {
    Payload::prepare(
        common::incident(n).as_bytes(),
        ValidationLevel::Strict,
        64 * 1024,
    )
    .expect("test document")
}

fn item_ids(events: &[GridEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|ev| match ev {
            GridEvent::Item { envelope, .. } => Some(envelope.item_id.clone()),
            _ => None,
        })
        .collect()
}

/// Part 3: the cluster is one cluster, a topic created on node 2 is
/// discovered (by `pubsub#type`) from node 1, an item published on node 2
/// reaches a subscriber on node 1 live and is retrieved there; after node 1
/// is killed, a client whose first server is node 1 connects to node 2
/// (first-connection fail-over) and still finds topic and item (node 2's
/// replica).
#[tokio::test]
async fn nodes_share_topics_and_items() {
    let mut c = cluster();
    for i in 0..2 {
        let members = c.members(i).expect("list_cluster");
        assert_eq!(
            members,
            ["gl1@127.0.0.1", "gl2@127.0.0.1"],
            "node {}",
            i + 1
        );
    }
    let publisher = grid_on(&c, 1, "publisher").await;
    let subscriber = grid_on(&c, 0, "subscriber").await;
    open_topic(&publisher).await;

    let found = subscriber
        .discover(false)
        .await
        .expect("discover on node 1");
    let names: Vec<&str> = found.iter().map(|t| t.node.as_str()).collect();
    assert_eq!(names, [TOPIC], "IODEF topics seen from node 1: {found:?}");
    assert!(found[0].is_iodef(), "{:?}", found[0]);

    let mut sub = subscriber
        .subscribe(
            TopicSelection::Named(vec![TOPIC.into()]),
            ValidationLevel::Basic,
        )
        .await
        .expect("subscribe on node 1");
    let p = payload(1);
    let id = publisher
        .publish(TOPIC, &p)
        .await
        .expect("publish on node 2");
    let ev = tokio::time::timeout(Duration::from_secs(15), sub.next())
        .await
        .expect("no notification on node 1 within 15 s")
        .expect("subscription ended");
    let GridEvent::Item { envelope, .. } = ev else {
        panic!("expected an item, got {ev:?}");
    };
    assert_eq!(
        (envelope.item_id.as_str(), envelope.document.as_str()),
        (id.as_str(), p.xml.as_str())
    );
    let kept = subscriber
        .items(TOPIC, None, None, ValidationLevel::Basic)
        .await
        .expect("items on node 1");
    assert_eq!(item_ids(&kept), std::slice::from_ref(&id));
    drop(sub);
    subscriber.close().await;

    c.kill9(0);
    let late = grid_on(&c, 0, "subscriber").await;
    let found = late.discover(false).await.expect("discover on node 2");
    assert_eq!(found.len(), 1, "{found:?}");
    let kept = late
        .items(TOPIC, None, None, ValidationLevel::Basic)
        .await
        .expect("items on node 2");
    assert_eq!(item_ids(&kept), [id]);
    late.close().await;
    publisher.close().await;
}

/// A process whose stdout and stderr lines are collected by two threads;
/// killed when dropped.
struct Proc {
    name: &'static str,
    child: Child,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
}

fn collect(r: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            into.lock().unwrap().push(line);
        }
    });
}

impl Proc {
    fn spawn(name: &'static str, mut c: Command) -> Proc {
        let mut child = c
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (out, err) = (Arc::default(), Arc::default());
        collect(child.stdout.take().unwrap(), Arc::clone(&out));
        collect(child.stderr.take().unwrap(), Arc::clone(&err));
        Proc {
            name,
            child,
            out,
            err,
        }
    }

    fn stderr(&self) -> String {
        self.err.lock().unwrap().join("\n")
    }

    fn stdout_lines(&self) -> Vec<String> {
        self.out.lock().unwrap().clone()
    }

    /// Waits until `cond` holds, failing with the process's stderr.
    fn wait_until(&mut self, what: &str, limit: Duration, cond: impl Fn(&Proc) -> bool) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if cond(self) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                if cond(self) {
                    return;
                }
                panic!(
                    "{}: exited ({status}) before {what}:\n{}",
                    self.name,
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{}: no {what} within {limit:?}:\n{}",
            self.name,
            self.stderr()
        );
    }

    /// Waits for a successful exit.
    fn finish(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                assert!(
                    status.success(),
                    "{}: {status}:\n{}",
                    self.name,
                    self.stderr()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: still running after {limit:?}:\n{}",
                self.name,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The (item id, document) of every `item` line a `gridlink subscribe` printed.
fn items(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "item")
        .map(|v| {
            (
                v["item_id"].as_str().unwrap_or_default().to_string(),
                v["document"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Prints `published / received / lost / duplicated` (duplicates counted
/// by (item id, content), as a consumer sees them) and returns (lost,
/// duplicated).
fn tally(seen: &[(String, String)], expected: &BTreeSet<String>) -> (usize, usize) {
    let ids: BTreeSet<&str> = seen.iter().map(|(i, _)| i.as_str()).collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|e| !ids.contains(e.as_str()))
        .collect();
    let mut counts: BTreeMap<&(String, String), usize> = BTreeMap::new();
    for s in seen {
        *counts.entry(s).or_default() += 1;
    }
    let duplicated: usize = counts.values().map(|n| n - 1).sum();
    println!(
        "cluster fail-over: published {} / received {} / lost {} / duplicated {duplicated}",
        expected.len(),
        ids.len(),
        missing.len()
    );
    if !missing.is_empty() {
        println!("missing: {missing:?}");
    }
    (missing.len(), duplicated)
}

/// `gridlink -v` as `user` with `--server` node `first`, then the others.
fn gridlink_on(c: &EjabberdCluster, first: usize, user: &str, state: &Path) -> Command {
    let port = |i: usize| c.node(i).c2s_port;
    let mut cmd = gridlink_at(
        port(first),
        &c.ca.ca_pem,
        user,
        &format!("{user}-pw"),
        state,
    );
    for i in (0..c.nodes().len()).filter(|i| *i != first) {
        cmd.args(["--server", &format!("127.0.0.1:{}", port(i))]);
    }
    cmd.arg("-v");
    cmd
}

/// Test 4(c): `gridlink subscribe --server node1 --server node2` follows
/// the topic on node 1 while `gridlink publish --durable` publishes on node
/// 2; node 1 is killed (SIGKILL) mid-stream. The subscriber fails over to
/// node 2 (its XEP-0198 session cannot be resumed there: a new session),
/// catches up from its cursor and ends with every item exactly once.
#[test]
fn subscriber_fails_over_when_its_node_is_killed() {
    let mut c = cluster();
    let tmp = c.dir().to_path_buf();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let publisher = grid_on(&c, 1, "publisher").await;
        open_topic(&publisher).await;
        publisher.close().await;
    });
    let docs = tmp.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let mut files = Vec::new();
    let mut expected = BTreeSet::new();
    for n in 0..STREAM {
        let f = docs.join(format!("incident-{n}.xml"));
        std::fs::write(&f, common::incident(n)).unwrap();
        files.push(f);
        expected.insert(format!("csirt.example.com:{n}"));
    }

    let mut cmd = gridlink_on(&c, 0, "subscriber", &tmp.join("sub-state"));
    cmd.args(["subscribe", "--topic", TOPIC]);
    let mut sub = Proc::spawn("subscriber", cmd);
    sub.wait_until("\"caught up\" on stderr", Duration::from_secs(30), |p| {
        p.stderr().contains("caught up")
    });

    let mut cmd = gridlink_on(&c, 1, "publisher", &tmp.join("pub-state"));
    cmd.args(["publish", "--durable", "--topic", TOPIC])
        .args(&files);
    let mut publisher = Proc::spawn("publisher", cmd);
    publisher.wait_until(
        &format!("{KILL_AT} confirmed publishes"),
        Duration::from_secs(60),
        |p| p.stdout_lines().len() >= KILL_AT,
    );
    c.kill9(0);
    publisher.finish(Duration::from_secs(90));

    sub.wait_until(&format!("{STREAM} items"), Duration::from_secs(60), |s| {
        let seen = items(&s.stdout_lines());
        seen.iter().map(|(i, _)| i).collect::<BTreeSet<_>>().len() >= STREAM
    });
    // Anything repeated would arrive within moments of the rest.
    std::thread::sleep(Duration::from_secs(2));
    let (lost, duplicated) = tally(&items(&sub.stdout_lines()), &expected);
    let log = sub.stderr();
    assert!(
        log.contains("failed over to another server"),
        "no fail-over in the subscriber's log:\n{log}"
    );
    assert_eq!((lost, duplicated), (0, 0), "{log}");
}

/// `GRIDLINK_SERVER` takes a comma-separated list, as `--server` repeated
/// does: with none reachable, the first is reported unreachable, and the
/// error is the last one's.
#[test]
fn every_server_in_the_environment_is_tried() {
    let closed: Vec<u16> = (0..2)
        .map(|_| gridlink::lab::free_port().unwrap())
        .collect();
    let out = gridlink_bare()
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GRIDLINK_PASSWORD", "x")
        .env(
            "GRIDLINK_SERVER",
            format!("127.0.0.1:{},127.0.0.1:{}", closed[0], closed[1]),
        )
        .args(["--jid", "someone@localhost", "discover"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "trying the next one server=127.0.0.1:{}",
            closed[0]
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "error: cannot join the grid as someone@localhost: connection refused by 127.0.0.1:{}",
            closed[1]
        )),
        "{err}"
    );
}
