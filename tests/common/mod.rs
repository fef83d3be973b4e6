//! Helpers shared by the integration tests: a lab Prosody, grid sessions, fixtures.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use gridlink::grid::{Grid, Subscription, TopicOptions, TopicSelection};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::{Prosody, ProsodyOptions};

/// A fresh Prosody with `publisher` (pubsub admin) and `subscriber`.
pub fn prosody() -> Prosody {
    Prosody::start(ProsodyOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// A grid session for a lab user (password `<user>-pw`).
pub async fn grid(p: &Prosody, user: &str) -> Grid {
    Grid::connect(p.client_config(user, &format!("{user}-pw")))
        .await
        .unwrap_or_else(|e| panic!("{user} cannot join: {e}"))
}

/// An open IODEF topic (anyone may subscribe), created by `publisher`.
pub async fn open_topic(publisher: &Grid, node: &str) {
    let opts = TopicOptions {
        access_model: gridlink::grid::AccessModel::Open,
        ..Default::default()
    };
    publisher
        .create_topic(node, &opts)
        .await
        .expect("create topic");
}

/// `publisher` with an open IODEF topic `node`, and `subscriber`
/// subscribed to it: the start of most publish/subscribe tests.
pub async fn subscribed(p: &Prosody, node: &str) -> (Grid, Grid, Subscription) {
    let publisher = grid(p, "publisher").await;
    let subscriber = grid(p, "subscriber").await;
    open_topic(&publisher, node).await;
    let sub = subscriber
        .subscribe(
            TopicSelection::Named(vec![node.to_string()]),
            ValidationLevel::Basic,
        )
        .await
        .expect("subscribe");
    (publisher, subscriber, sub)
}

/// Path of a fixture under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Bytes of a fixture.
pub fn fixture_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The RFC examples that the errata-corrected schema accepts.
/// An incident marked for partners (TLP green) with a private Discovery, a
/// victim Contact restricted by an extension value, and the creator's
/// e-mail address: what the redaction tests leave out.
#[allow(dead_code)]
pub const MARKED: &str = "iodef/valid/gridlink-marked.xml";

pub const VALID: &[&str] = &[
    "iodef/valid/rfc7970-sec7.1-minimal.xml",
    "iodef/valid/rfc8274-appB.1-malware-delivery-url.xml",
    "iodef/valid/rfc8274-appB.3-spear-phishing.xml",
    "iodef/valid/rfc8274-appB.5-iot-malware.xml",
];

/// `python3`, after checking slixmpp is importable (a clear failure, never a skip).
pub fn python() -> Command {
    let ok = Command::new("python3")
        .args(["-c", "import slixmpp"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "python3 with slixmpp is required: pip install -r tests/requirements.txt (scripts/test does this)"
    );
    Command::new("python3")
}

/// Canonical XML of a document, by Python's xml.etree C14N 2.0.
pub fn c14n(xml: &str) -> String {
    let mut child = python()
        .arg(fixture("../py/c14n.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "c14n failed on {xml}");
    serde_json::from_slice::<String>(&out.stdout).unwrap()
}

/// tests/py/slix_peer.py in `mode` (publish|subscribe) as `user` on topic `incidents`.
pub fn peer(p: &Prosody, mode: &str, user: &str) -> Command {
    peer_at(p.c2s_port, &p.ca.ca_pem, mode, user)
}

/// [`peer`] on any lab broker: its STARTTLS port and CA.
pub fn peer_at(port: u16, ca_pem: &std::path::Path, mode: &str, user: &str) -> Command {
    let mut c = python();
    c.arg(fixture("../py/slix_peer.py"))
        .arg(mode)
        .args(["--jid", &format!("{user}@localhost")])
        .args(["--password", &format!("{user}-pw")])
        .args(["--port", &port.to_string()])
        .arg("--ca")
        .arg(ca_pem)
        .args(["--node", "incidents"]);
    c
}

/// A minimal valid IODEF v2 incident whose IncidentID is `n` (item id
/// `csirt.example.com:n`).
pub fn incident(n: usize) -> String {
    format!(
        "<IODEF-Document xmlns='urn:ietf:params:xml:ns:iodef-2.0' version='2.00'>\
         <Incident purpose='reporting'><IncidentID name='csirt.example.com'>{n}</IncidentID>\
         <GenerationTime>2026-11-23T09:00:00Z</GenerationTime>\
         <Contact role='creator' type='organization'><Email><EmailTo>soc@csirt.example.com</EmailTo></Email></Contact>\
         </Incident></IODEF-Document>"
    )
}
