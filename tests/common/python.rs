//! Python as a foreign client: slixmpp (checked importable, a clear failure
//! and never a skip), the slixmpp peer tests/py/slix_peer.py, and C14N 2.0
//! from Python's xml.etree.

use std::io::Write;
use std::process::{Command, Stdio};

use gridlink::lab::Prosody;

use super::fixtures::fixture;

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
