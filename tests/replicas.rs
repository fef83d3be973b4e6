//! Two bridge replicas on one PostgreSQL (issue 25, tests 4a and 4b).
//!
//! Both replicas follow the same topic on one lab Prosody, store into one
//! database and serve ROLIE under one public URL. Each test publishes a
//! stream of incidents while something dies, then walks both replicas'
//! feeds and prints `published / received / lost / duplicated` per replica:
//! every item must be served exactly once by both, and the two feeds must
//! be byte-identical.
//!
//! | test | what dies |
//! |---|---|
//! | `replica_killed_and_restarted_mid_stream` | replica A, `kill -9`, restarted; then a POST to A must show in B |
//! | `postgres_restarted_mid_stream` | PostgreSQL (fast shutdown, started again 2 s later) |

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::hostile::{client, Proc};
use common::postgres::{postgres, Postgres};
use gridlink::grid::{Affiliation, Grid, Payload};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::{Prosody, ProsodyOptions};

const TOPIC: &str = "incidents";
const TOKEN: &str = "replica-write-token";

struct Replicas {
    p: Prosody,
    pg: Postgres,
    publisher: Grid,
    dir: tempfile::TempDir,
    url: String,
    addrs: [SocketAddr; 2],
    procs: [Option<Proc>; 2],
}

impl Replicas {
    async fn start() -> Replicas {
        let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut opts = ProsodyOptions {
            log_level: "info",
            max_items: 10_000,
            ..ProsodyOptions::default()
        };
        for u in ["bridge0", "bridge1"] {
            opts.users.push((u.into(), format!("{u}-pw")));
        }
        let p = common::start_prosody(opts);
        let pg = postgres();
        let url = pg.create_db("grid").unwrap();
        let publisher = common::grid(&p, "publisher").await;
        common::open_topic(&publisher, TOPIC).await;
        for u in ["bridge0", "bridge1"] {
            publisher
                .set_affiliation(
                    TOPIC,
                    &format!("{u}@localhost").parse().unwrap(),
                    Affiliation::Publisher,
                )
                .await
                .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tokens"), format!("{TOKEN}\n")).unwrap();
        std::fs::write(
            dir.path().join("gridlink.toml"),
            format!(
                "[bridge]\ntopics = [\"{TOPIC}\"]\npublic_url = \"http://rolie.test\"\n\
                 write_token_file = \"{}\"\npage_size = 500\n",
                dir.path().join("tokens").display()
            ),
        )
        .unwrap();
        let port = || gridlink::lab::free_port().unwrap();
        let addrs = [
            SocketAddr::from(([127, 0, 0, 1], port())),
            SocketAddr::from(([127, 0, 0, 1], port())),
        ];
        let mut r = Replicas {
            p,
            pg,
            publisher,
            dir,
            url,
            addrs,
            procs: [None, None],
        };
        r.start_replica(0).await;
        r.start_replica(1).await;
        r
    }

    async fn start_replica(&mut self, i: usize) {
        let user = format!("bridge{i}");
        let mut c = common::gridlink_async(&self.p, &user, &format!("{user}-pw"));
        c.arg("--config")
            .arg(self.dir.path().join("gridlink.toml"))
            .arg("--state-dir")
            .arg(self.dir.path().join(format!("state{i}")))
            .args(["bridge", "--store", &self.url, "--listen"])
            .arg(self.addrs[i].to_string());
        let mut proc = Proc::spawn(&format!("replica {i}"), c);
        proc.wait_line(true, Duration::from_secs(60), |l| {
            l.contains("serving ROLIE on ")
        })
        .await;
        let line = proc
            .wait_line(true, Duration::from_secs(1), |l| {
                l.contains("serving ROLIE")
            })
            .await;
        assert!(!line.contains("replica-pw"), "no secret in {line}");
        self.procs[i] = Some(proc);
    }

    async fn kill9(&mut self, i: usize) {
        if let Some(mut p) = self.procs[i].take() {
            p.stop().await;
        }
    }

    /// Publishes incidents `range` from the test's own session, 25 at a time.
    async fn publish(&self, range: std::ops::Range<usize>) {
        let all: Vec<usize> = range.collect();
        for chunk in all.chunks(25) {
            let sends = chunk.iter().map(|n| async move {
                let doc = common::incident(*n);
                let payload =
                    Payload::prepare(doc.as_bytes(), ValidationLevel::Basic, 1 << 20).unwrap();
                self.publisher.publish(TOPIC, &payload).await.unwrap();
            });
            futures::future::join_all(sends).await;
        }
    }

    /// Walks replica `i`'s feed, first page to last: the pages' bodies
    /// and every entry's id, in order. `None` while a page fails.
    async fn walk(&self, i: usize) -> Option<(String, Vec<String>)> {
        let base = format!("http://{}", self.addrs[i]);
        let mut path = format!("/rolie/feeds/{TOPIC}");
        let (mut bodies, mut ids) = (String::new(), Vec::new());
        loop {
            let r = client().get(format!("{base}{path}")).send().await.ok()?;
            if r.status() != 200 {
                return None;
            }
            let body = r.text().await.ok()?;
            ids.extend(entry_ids(&body));
            let next = next_link(&body);
            bodies.push_str(&body);
            match next {
                Some(n) => path = n,
                None => return Some((bodies, ids)),
            }
        }
    }

    /// Waits until both replicas serve `n` entries; returns their walks.
    async fn both_serve(&self, n: usize, within: Duration) -> [(String, Vec<String>); 2] {
        let deadline = Instant::now() + within;
        loop {
            let (a, b) = (self.walk(0).await, self.walk(1).await);
            if let (Some(a), Some(b)) = (&a, &b) {
                if a.1.len() >= n && b.1.len() >= n && a.0 == b.0 {
                    return [a.clone(), b.clone()];
                }
            }
            if Instant::now() > deadline {
                let count = |w: &Option<(String, Vec<String>)>| w.as_ref().map(|w| w.1.len());
                panic!(
                    "replicas serve {:?} and {:?} entries, not {n} each (identical: {}):\n{}",
                    count(&a),
                    count(&b),
                    a.as_ref().map(|w| &w.0) == b.as_ref().map(|w| &w.0),
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn logs(&self) -> String {
        self.procs
            .iter()
            .flatten()
            .map(|p| format!("--- {}\n{}", p.name, tail(&p.output(), 40)))
            .collect::<Vec<_>>()
            .join("\n")
            + &format!("\n--- postgres\n{}", self.pg.log_tail())
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The `atom:id`s of a feed page's entries.
fn entry_ids(feed: &str) -> Vec<String> {
    feed.split("<entry")
        .skip(1)
        .filter_map(|e| {
            let start = e.find("<id>")? + 4;
            let end = e[start..].find("</id>")? + start;
            Some(e[start..end].to_owned())
        })
        .collect()
}

/// The path and query of a page's `rel="next"` link.
fn next_link(feed: &str) -> Option<String> {
    let link = feed.split("<link").find(|l| l.contains("rel=\"next\""))?;
    let start = link.find("href=\"")? + 6;
    let href = &link[start..start + link[start..].find('"')?];
    let href = href.replace("&amp;", "&");
    Some(href.strip_prefix("http://rolie.test")?.to_owned())
}

/// Prints and returns (lost, duplicated) of what replica `name` serves.
fn tally(name: &str, published: usize, ids: &[String]) -> (usize, usize) {
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for id in ids {
        *counts.entry(id).or_default() += 1;
    }
    let lost = published.saturating_sub(counts.len());
    let duplicated: usize = counts.values().map(|n| n - 1).sum();
    println!(
        "{name}: published {published} / received {} / lost {lost} / duplicated {duplicated}",
        ids.len()
    );
    (lost, duplicated)
}

/// 4(a): 2 000 incidents published while replica A is `kill -9`'d (after
/// 700) and restarted (after 1 400): both replicas serve all 2 000 once,
/// byte-identically; then a POST to A shows in B's feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_killed_and_restarted_mid_stream() {
    const N: usize = 2000;
    let mut r = Replicas::start().await;
    let started = Instant::now();
    r.publish(0..700).await;
    r.kill9(0).await;
    r.publish(700..1400).await;
    r.start_replica(0).await;
    r.publish(1400..N).await;
    let [a, b] = r.both_serve(N, Duration::from_secs(120)).await;
    println!(
        "replicas: {N} items served by both after {:?}",
        started.elapsed()
    );
    assert_eq!(tally("replica A (killed)", N, &a.1), (0, 0));
    assert_eq!(tally("replica B", N, &b.1), (0, 0));
    assert_eq!(a.0, b.0, "byte-identical feeds");

    // A POST to A is published through A's outbox and shows in B.
    let doc = common::incident(N + 1);
    let resp = client()
        .post(format!("http://{}/rolie/feeds/{TOPIC}", r.addrs[0]))
        .bearer_auth(TOKEN)
        .header("content-type", "application/xml")
        .body(doc)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "POST: {}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let path = location
        .strip_prefix("http://rolie.test")
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = client()
            .get(format!("http://{}{path}", r.addrs[1]))
            .send()
            .await
            .unwrap();
        if got.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the POST to A never reached B:\n{}",
            r.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let [a, b] = r.both_serve(N + 1, Duration::from_secs(30)).await;
    assert_eq!(tally("replica A after the POST", N + 1, &a.1), (0, 0));
    assert_eq!(tally("replica B after the POST", N + 1, &b.1), (0, 0));
}

/// 4(b): PostgreSQL stopped after 400 of 1 000 incidents and started again
/// 2 s later while publishing goes on: the replicas retry, nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_stream() {
    const N: usize = 1000;
    let mut r = Replicas::start().await;
    r.publish(0..400).await;
    r.pg.stop();
    r.publish(400..700).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    r.pg.restart().unwrap();
    r.publish(700..N).await;
    let [a, b] = r.both_serve(N, Duration::from_secs(120)).await;
    assert_eq!(tally("replica A (database restarted)", N, &a.1), (0, 0));
    assert_eq!(tally("replica B (database restarted)", N, &b.1), (0, 0));
    for p in r.procs.iter_mut().flatten() {
        assert!(p.alive(), "{} died:\n{}", p.name, p.output());
    }
}
