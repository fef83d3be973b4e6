//! Interoperability with an XMPP client we did not write: slixmpp (Python)
//! publishes and subscribes on the same Prosody as gridlink, and Python's own
//! C14N implementation judges that documents arrive unchanged.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{c14n, fixture, fixture_bytes, grid, open_topic, peer, prosody, VALID};
use gridlink::grid::{GridEvent, Payload, TopicSelection};
use gridlink::iodef::ValidationLevel;

/// The RFC examples that the schemas disagree on are still IODEF v2 and
/// travel the grid (strict validation is a publisher's choice).
const DISAGREE: &[&str] = &[
    "iodef/xsd-disagree/rfc7970-sec7.2-indicators-from-campaign.xml",
    "iodef/xsd-disagree/rfc8274-appB.2-ddos.xml",
    "iodef/xsd-disagree/rfc8274-appB.4-malware.xml",
];

fn file_text(rel: &str) -> String {
    String::from_utf8(fixture_bytes(rel)).unwrap()
}

/// slixmpp publishes the RFC 7970 / RFC 8274 examples; gridlink receives
/// every one of them canonical-XML-equal to the file.
#[tokio::test]
async fn slixmpp_publishes_gridlink_receives() {
    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, "incidents").await;
    let subscriber = grid(&p, "subscriber").await;
    let mut sub = subscriber
        .subscribe(
            TopicSelection::Named(vec!["incidents".into()]),
            ValidationLevel::Basic,
        )
        .await
        .unwrap();
    let files: Vec<&str> = VALID.iter().chain(DISAGREE).copied().collect();
    let out = peer(&p, "publish", "publisher")
        .args(files.iter().map(|f| fixture(f)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "slixmpp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sent.len(), files.len());
    for (f, s) in files.iter().zip(&sent) {
        let ev = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("item within 10 s")
            .unwrap();
        match ev {
            GridEvent::Item { envelope, iodef } => {
                assert_eq!(envelope.item_id, s["id"].as_str().unwrap(), "{f}");
                // Compared with what slixmpp put on the wire: slixmpp's
                // serialiser drops namespaced attributes (xsi:schemaLocation),
                // which gridlink cannot receive because it was never sent.
                assert_eq!(
                    c14n(&envelope.document),
                    c14n(s["sent"].as_str().unwrap()),
                    "{f}"
                );
                assert!(iodef.is_some());
            }
            other => panic!("{f}: {other:?}"),
        }
    }
}

/// gridlink publishes; a slixmpp subscriber receives canonical-XML-equal documents.
#[tokio::test]
async fn gridlink_publishes_slixmpp_receives() {
    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, "incidents").await;
    let mut child = peer(&p, "subscribe", "subscriber")
        .args(["--count", &VALID.len().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::task::spawn_blocking(move || {
        let first = lines.next();
        (first, lines)
    })
    .await
    .unwrap();
    let (first, lines) = ready;
    assert_eq!(
        first.and_then(Result::ok).as_deref(),
        Some("READY"),
        "slixmpp did not subscribe"
    );
    for f in VALID {
        let pl = Payload::prepare(&fixture_bytes(f), ValidationLevel::Strict, 1 << 20).unwrap();
        publisher.publish("incidents", &pl).await.unwrap();
    }
    let received: Vec<serde_json::Value> = tokio::task::spawn_blocking(move || {
        lines
            .take(VALID.len())
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect()
    })
    .await
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "slixmpp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(received.len(), VALID.len());
    for (f, r) in VALID.iter().zip(&received) {
        assert_eq!(c14n(r["xml"].as_str().unwrap()), c14n(&file_text(f)), "{f}");
    }
}
