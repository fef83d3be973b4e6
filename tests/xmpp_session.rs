//! The session layer against a real Prosody: TLS modes, SASL choice,
//! fail-fast errors, reconnect, IQ timeouts and concurrency.

use std::time::{Duration, Instant};

use gridlink::lab::{Prosody, ProsodyOptions, TcpProxy};
use gridlink::xmpp::{ConnectError, IqError, Session, SessionEvent};
use tokio_xmpp::minidom::Element;

const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";

fn prosody() -> Prosody {
    Prosody::start(ProsodyOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn disco_info() -> Element {
    Element::builder("query", DISCO_INFO).build()
}

/// STARTTLS login authenticates with SCRAM-SHA-1 — never PLAIN, which
/// tokio-xmpp's own connectors pick on TLS 1.3 against Prosody 0.12.
#[tokio::test]
async fn starttls_login_uses_scram_not_plain() {
    let p = prosody();
    let s = Session::connect(p.client_config("publisher", "publisher-pw"))
        .await
        .expect("login");
    assert_eq!(s.mechanism(), "SCRAM-SHA-1");
    let info = s
        .get(Some(p.pubsub.parse().unwrap()), disco_info())
        .await
        .expect("disco#info on the pubsub service");
    assert!(info.is_some());
    let log = p.log();
    assert!(log.contains("mechanism='SCRAM-SHA-1'") || log.contains("mechanism=\"SCRAM-SHA-1\""), "Prosody's log shows no SCRAM-SHA-1 auth");
    assert!(!log.contains("mechanism='PLAIN'") && !log.contains("mechanism=\"PLAIN\""), "PLAIN was used");
}
