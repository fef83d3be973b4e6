//! Which sessions negotiate XEP-0198 stream management (issue 22,
//! deliverable 5: fan-out).
//!
//! Prosody 0.12 keeps a deep copy of every stanza it sends an XEP-0198
//! session until the client acknowledges it, and asks for acks as its
//! buffers drain: measured by the harness, that made each fan-out
//! notification to a gridlink subscriber cost the broker 1.8× what it costs
//! for a reader without XEP-0198, and a fan-out to 50 subscribers reach
//! 0.54× of the raw readers' rate (BENCHMARKS.md). A subscriber that follows
//! with a cursor catches up from the topics' items after any new session,
//! so it does not need resumption: `--stream-management auto` (the default)
//! leaves XEP-0198 off for `gridlink subscribe` with a cursor and for
//! `gridlink bridge`, off for the commands that make their requests and
//! leave (`discover`, `items`, `topic …`: the broker would otherwise keep a
//! copy of every answer, an items page of whole documents, until acked),
//! and on for everything else. These tests count the
//! sessions that enable it in the lab Prosody's debug log (mod_smacks logs
//! "Enabling stream management" for each) while each kind of subscriber
//! receives an item.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{grid, gridlink_async, incident, open_topic, prosody};
use gridlink::grid::{Grid, Payload};
use gridlink::lab::Prosody;

/// What mod_smacks logs (debug) when a session enables XEP-0198.
const ENABLED: &str = "Enabling stream management";

fn enabled(p: &Prosody) -> usize {
    p.log().matches(ENABLED).count()
}

/// Runs `gridlink subscribe --topic TOPIC --count 1 EXTRA…` on a fresh
/// topic, publishes one item for it, and returns how many sessions enabled
/// XEP-0198 meanwhile (the subscriber's, if it did: the publisher's session
/// is older).
async fn sessions_enabling_sm(p: &Prosody, publisher: &Grid, topic: &str, extra: &[&str]) -> usize {
    open_topic(publisher, topic).await;
    let state = tempfile::tempdir().unwrap();
    let before = enabled(p);
    let mut sub = gridlink_async(p, "subscriber", "subscriber-pw");
    sub.args([
        "subscribe",
        "--topic",
        topic,
        "--count",
        "1",
        "--format",
        "xml",
    ])
    .args(extra)
    .arg("--state-dir")
    .arg(state.path())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let sub = sub.spawn().unwrap();
    // Subscribed (and, with a cursor, caught up on an empty topic) by then.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let n = 7000 + topic.len();
    let payload = Payload::from_prepared(format!("{topic}-1"), incident(n)).unwrap();
    publisher.publish(topic, &payload).await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), sub.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`subscribe {extra:?}` got no item within 30 s"))
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "subscribe {extra:?}: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(">{n}</IncidentID>")),
        "subscribe {extra:?} printed no item: {stdout}\n{stderr}"
    );
    // mod_smacks logs the enabling before it answers; the item came after.
    enabled(p) - before
}

/// The publisher (the library's default, `Auto`) negotiates XEP-0198; a
/// subscriber with a cursor does not, unless told `--stream-management on`;
/// one without a cursor (`--no-cursor`: nothing to catch up from) does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_leave_stream_management_off_unless_asked() {
    let p = prosody();
    let before = enabled(&p);
    let publisher = grid(&p, "publisher").await;
    assert_eq!(
        enabled(&p) - before,
        1,
        "the library's session (Auto) negotiates XEP-0198"
    );

    assert_eq!(
        sessions_enabling_sm(&p, &publisher, "cursor", &[]).await,
        0,
        "a subscriber with a cursor must leave XEP-0198 off (auto)"
    );
    assert_eq!(
        sessions_enabling_sm(&p, &publisher, "asked", &["--stream-management", "on"]).await,
        1,
        "--stream-management on must negotiate it"
    );
    assert_eq!(
        sessions_enabling_sm(&p, &publisher, "nocursor", &["--no-cursor"]).await,
        1,
        "a subscriber without a cursor keeps resumption (auto)"
    );
    assert_eq!(
        sessions_enabling_sm(
            &p,
            &publisher,
            "offnocursor",
            &["--no-cursor", "--stream-management", "off"]
        )
        .await,
        0,
        "--stream-management off must leave it off"
    );
    publisher.close().await;
}

/// Runs `gridlink ARGS…` as the subscriber to its end and returns how many
/// sessions enabled XEP-0198 meanwhile (mod_smacks logs the enabling before
/// it answers the command's first request).
async fn one_shot_enabling_sm(p: &Prosody, args: &[&str]) -> usize {
    let before = enabled(p);
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        gridlink_async(p, "subscriber", "subscriber-pw")
            .args(args)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("`gridlink {args:?}` did not end within 60 s"))
    .unwrap();
    assert!(
        out.status.success(),
        "gridlink {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    enabled(p) - before
}

/// `discover`, `items` (one request and paged) and `topic info` leave
/// XEP-0198 off under `auto`, and negotiate it when told `on`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_commands_leave_stream_management_off_unless_asked() {
    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, "oneshot").await;
    for i in 0..3 {
        let payload = Payload::from_prepared(format!("oneshot-{i}"), incident(7100 + i)).unwrap();
        publisher.publish("oneshot", &payload).await.unwrap();
    }
    let commands: [&[&str]; 4] = [
        &["discover"],
        &["items", "--topic", "oneshot", "--page", "2"],
        &["items", "--topic", "oneshot", "--max", "1"],
        &["topic", "info", "oneshot"],
    ];
    for args in commands {
        assert_eq!(
            one_shot_enabling_sm(&p, args).await,
            0,
            "`gridlink {args:?}` must leave XEP-0198 off (auto)"
        );
        let on: Vec<&str> = ["--stream-management", "on"]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        assert_eq!(
            one_shot_enabling_sm(&p, &on).await,
            1,
            "`gridlink {on:?}` must negotiate it"
        );
    }
    publisher.close().await;
}
