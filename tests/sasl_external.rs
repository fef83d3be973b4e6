//! SASL EXTERNAL with a client certificate (RFC 8600 §8.3.1: mutual
//! certificate authentication) against a real Prosody whose host
//! `certs.localhost` authenticates by certificate (`mod_auth_ccert`, Debian
//! package `prosody-modules`).

mod common;

use std::time::{Duration, Instant};

use common::prosody_with_cert_host;
use gridlink::config::{Config, Secret, TlsMode};
use gridlink::lab::{ClientCert, Prosody, TestCa, CERTS_DOMAIN};
use gridlink::xmpp::{ConnectError, Session};
use tokio_xmpp::minidom::Element;

const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";

/// A config for `jid` with the lab's trust and `cert`, and no password.
fn cert_config(p: &Prosody, jid: &str, cert: &ClientCert) -> Config {
    let mut c = p.client_config("unused", "");
    c.jid = jid.parse().unwrap();
    c.password = Secret::new("");
    c.client_cert = Some(cert.chain_pem.clone());
    c.client_key = Some(cert.key_pem.clone());
    c
}

fn issue(p: &Prosody, stem: &str, jid: &str) -> ClientCert {
    p.ca.client_cert(p.dir(), stem, jid)
        .expect("client certificate")
}

/// Counts `<auth mechanism='M'>` in Prosody's debug log.
fn auths(p: &Prosody, mechanism: &str) -> usize {
    let log = p.log();
    log.matches(&format!("mechanism='{mechanism}'")).count()
        + log.matches(&format!("mechanism=\"{mechanism}\"")).count()
}

/// Prosody's warnings and errors (what `mod_auth_ccert` says when it
/// refuses a certificate).
fn warnings(p: &Prosody) -> String {
    p.log()
        .lines()
        .filter(|l| l.contains("warn") || l.contains("error"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A certificate naming the account is the whole login, over STARTTLS and
/// direct TLS: EXTERNAL, no password, the account bound is the
/// certificate's, and the session works.
#[tokio::test]
async fn external_login_with_a_client_certificate() {
    let p = prosody_with_cert_host();
    let jid = format!("controller@{CERTS_DOMAIN}");
    let cert = issue(&p, "controller", &jid);
    for direct in [false, true] {
        let mut c = cert_config(&p, &jid, &cert);
        if direct {
            c.tls_mode = TlsMode::DirectTls;
            c.server = Some(("127.0.0.1".into(), p.direct_tls_port));
        }
        let s = Session::connect(c).await.unwrap_or_else(|e| {
            panic!(
                "EXTERNAL login (direct TLS {direct}): {e}\n{}",
                warnings(&p)
            )
        });
        assert_eq!(s.mechanism(), "EXTERNAL");
        assert_eq!(s.jid().to_bare().to_string(), jid);
        let info = s
            .get(None, Element::builder("query", DISCO_INFO).build())
            .await
            .expect("disco#info of the server");
        assert!(info.is_some());
        s.close().await;
    }
    assert_eq!(auths(&p, "EXTERNAL"), 2, "{}", p.log());
    assert_eq!(auths(&p, "PLAIN"), 0);
}

/// Refusals are immediate, typed and say what to check: a certificate of
/// the right CA for another account (the authorization identity we send
/// is the configured JID, so the server does not log us in as the
/// certificate's account), and a certificate of a CA the server does not
/// trust.
#[tokio::test]
async fn wrong_certificates_are_refused_at_once() {
    let p = prosody_with_cert_host();
    let jid = format!("controller@{CERTS_DOMAIN}");
    let other_account = issue(&p, "other", &format!("other@{CERTS_DOMAIN}"));
    let foreign_dir = tempfile::tempdir().unwrap();
    let foreign_ca =
        TestCa::generate_named(foreign_dir.path(), "not the lab CA", &["localhost"]).unwrap();
    let foreign = foreign_ca
        .client_cert(foreign_dir.path(), "controller", &jid)
        .unwrap();
    for (what, cert) in [
        ("another account", &other_account),
        ("foreign CA", &foreign),
    ] {
        let t = Instant::now();
        let e = Session::connect(cert_config(&p, &jid, cert))
            .await
            .expect_err(what);
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{what}: {:?}",
            t.elapsed()
        );
        assert!(
            matches!(e, ConnectError::CertificateRejected { .. }),
            "{what}: {e:?}"
        );
        // Prosody says `not-authorized` for a certificate of another
        // account and `account-disabled` for one it cannot verify.
        let msg = e.to_string();
        assert!(
            msg.contains("client certificate") && msg.contains(&jid),
            "{what}: {msg}"
        );
    }
}

/// On a host that authenticates by password (it offers no EXTERNAL), a
/// client that also has a certificate logs in with SCRAM, one with only a
/// certificate gets a clear error, and a password-only client is not
/// disturbed by the server asking for certificates.
#[tokio::test]
async fn password_hosts_are_unchanged() {
    let p = prosody_with_cert_host();
    let cert = issue(&p, "publisher", "publisher@localhost");
    let mut c = p.client_config("publisher", "publisher-pw");
    c.client_cert = Some(cert.chain_pem.clone());
    c.client_key = Some(cert.key_pem.clone());
    let s = Session::connect(c.clone()).await.expect("SCRAM login");
    assert_eq!(s.mechanism(), "SCRAM-SHA-1");
    s.close().await;

    c.password = Secret::new("");
    let e = Session::connect(c)
        .await
        .expect_err("no password, no EXTERNAL");
    assert!(matches!(e, ConnectError::NoMechanism { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("a client certificate and no password"),
        "{e}"
    );

    let s = Session::connect(p.client_config("subscriber", "subscriber-pw"))
        .await
        .expect("password-only login");
    assert_eq!(s.mechanism(), "SCRAM-SHA-1");
    assert_eq!(auths(&p, "EXTERNAL"), 0);
}
