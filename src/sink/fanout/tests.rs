//! The fan-out's promises with sinks written for the purpose: a stuck sink
//! holds up neither the router nor the other sinks, a refused event is
//! dead-lettered and the stream goes on, a failing sink is retried until
//! its receiver takes the events, and the cursors survive a restart.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::envelope::Envelope;
use crate::sink::{BoxFuture, Outcome};

/// What a test sink does with the events it gets.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Take,
    /// Never answers.
    Stuck,
    /// Fails the first `n` attempts.
    FailFirst(usize),
    /// Refuses item ids starting with `bad`.
    RefuseBad,
}

struct TestSink {
    name: String,
    mode: Mode,
    attempts: usize,
    got: Arc<Mutex<Vec<String>>>,
}

impl Sink for TestSink {
    fn name(&self) -> &str {
        &self.name
    }
    fn own_cursor(&self) -> bool {
        true
    }
    fn failing_after(&self) -> Duration {
        Duration::ZERO
    }
    fn deliver<'a>(&'a mut self, _: &'a GridEvent) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
    fn deliver_batch<'a>(
        &'a mut self,
        evs: &'a [GridEvent],
    ) -> BoxFuture<'a, Result<Vec<Outcome>, SinkError>> {
        Box::pin(async move {
            self.attempts += 1;
            match self.mode {
                Mode::Stuck => std::future::pending().await,
                Mode::FailFirst(n) if self.attempts <= n => {
                    return Err(SinkError::remote(&self.name, "503"))
                }
                _ => {}
            }
            let mut out = Vec::new();
            for ev in evs {
                let GridEvent::Item { envelope, .. } = ev else {
                    out.push(Outcome::Accepted);
                    continue;
                };
                if self.mode == Mode::RefuseBad && envelope.item_id.starts_with("bad") {
                    out.push(Outcome::Refused("400 bad".into()));
                } else {
                    self.got.lock().unwrap().push(envelope.item_id.clone());
                    out.push(Outcome::Accepted);
                }
            }
            Ok(out)
        })
    }
}

fn sink(name: &str, mode: Mode) -> (Box<dyn Sink>, Arc<Mutex<Vec<String>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let s = TestSink {
        name: name.into(),
        mode,
        attempts: 0,
        got: got.clone(),
    };
    (Box::new(s), got)
}

fn item(id: &str) -> GridEvent {
    GridEvent::Item {
        envelope: Envelope {
            topic: "t".into(),
            item_id: id.into(),
            publisher: None,
            received_at: chrono::Utc::now(),
            delayed_at: None,
            payload_ns: crate::envelope::IODEF_V2_NS.into(),
            document: "<x/>".into(),
        },
        iodef: None,
    }
}

fn opts(dir: &std::path::Path) -> FanoutOptions {
    FanoutOptions {
        dead_letter_dir: dir.to_path_buf(),
        backoff: Backoff {
            min: Duration::from_millis(10),
            max: Duration::from_millis(50),
        },
    }
}

#[tokio::test]
async fn each_sink_at_its_own_pace() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.sqlite")).unwrap();
    let (stuck, _) = sink("stuck", Mode::Stuck);
    let (flaky, flaky_got) = sink("flaky", Mode::FailFirst(3));
    let (picky, picky_got) = sink("picky", Mode::RefuseBad);
    let mut f = Fanout::start(vec![stuck, flaky, picky], &store, opts(dir.path()))
        .await
        .unwrap();
    let ids = ["a", "b", "bad-c", "d"];
    // The router never waits for the stuck sink.
    let router = async {
        for id in ids {
            f.deliver(&item(id)).await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(5), router)
        .await
        .expect("a stuck sink held up the router");
    let m = f.monitor();
    let done = |n: &str| {
        m.sinks()
            .iter()
            .find(|s| s.name == n)
            .is_some_and(|s| m.lag(s) == 0)
    };
    for _ in 0..200 {
        if done("flaky") && done("picky") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*flaky_got.lock().unwrap(), vec!["a", "b", "bad-c", "d"]);
    assert_eq!(*picky_got.lock().unwrap(), vec!["a", "b", "d"]);
    let by = |n: &str| m.sinks().iter().find(|s| s.name == n).unwrap().clone();
    assert_eq!(by("flaky").failed.load(Ordering::Relaxed), 3);
    assert!(by("flaky").retried.load(Ordering::Relaxed) >= 3);
    assert_eq!(by("picky").dead_lettered.load(Ordering::Relaxed), 1);
    assert_eq!(m.lag(&by("stuck")), 4);
    let dead = std::fs::read_to_string(dir.path().join("dead-letter-picky.jsonl")).unwrap();
    assert!(
        dead.contains("\"reason\":\"400 bad\"") && dead.contains("bad-c"),
        "{dead}"
    );
    // Nothing failing (the stuck sink has not failed, only not answered).
    assert!(m.health().0);
    let mut text = String::new();
    m.render(&mut text);
    assert!(
        text.contains("gridlink_sink_lag_events{sink=\"stuck\"} 4"),
        "{text}"
    );
    assert!(text.contains("gridlink_sink_dead_lettered_total{sink=\"picky\"} 1"));
    f.close().await;

    // After a restart the stuck sink starts where it stood; the others
    // have nothing left. The journal kept what the stuck sink still owes.
    let (again, again_got) = sink("stuck", Mode::Take);
    let (flaky, flaky_got) = sink("flaky", Mode::Take);
    let mut f = Fanout::start(vec![again, flaky], &store, opts(dir.path()))
        .await
        .unwrap();
    f.deliver(&item("e")).await.unwrap();
    assert!(f.flush(Duration::from_secs(5)).await);
    assert_eq!(
        *again_got.lock().unwrap(),
        vec!["a", "b", "bad-c", "d", "e"]
    );
    assert_eq!(*flaky_got.lock().unwrap(), vec!["e"]);
    f.close().await;
}

#[tokio::test]
async fn a_failing_sink_makes_health_fail() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_memory().unwrap();
    let (down, _) = sink("down", Mode::FailFirst(usize::MAX));
    let mut f = Fanout::start(vec![down], &store, opts(dir.path()))
        .await
        .unwrap();
    f.deliver(&item("a")).await.unwrap();
    let m = f.monitor();
    for _ in 0..100 {
        if !m.health().0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (healthy, detail) = m.health();
    assert!(!healthy);
    assert!(
        detail.contains("down failing for") && detail.contains("503"),
        "{detail}"
    );
    f.close().await;
}
