//! Revocation checking (RFC 8600 §8.3.1, `--crl-file`) and key pinning
//! (§8.3.6, `--pin-sha256`) of the server certificate, against a real Prosody
//! whose lab CA also issued the CRLs. Expected pins are computed with the
//! `openssl` command line, not with gridlink's own code.

mod common;

use std::process::Command;

use common::{gridlink_bare, prosody};
use gridlink::lab::{Prosody, TestCa};
use gridlink::xmpp::{ConnectError, Session};

/// The server certificate's key pin, as `openssl` computes it:
/// base64(SHA-256(DER SubjectPublicKeyInfo)).
fn openssl_pin(p: &Prosody) -> String {
    let chain = &p.ca.server_chain_pem;
    let script = format!(
        "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
        chain.display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap_or_else(|e| panic!("running openssl (scripts/deps installs it): {e}"));
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pin = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(pin.len(), 44, "unexpected openssl output {pin:?}");
    pin
}

#[tokio::test]
async fn current_crl_that_does_not_list_the_server_lets_it_in() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.crl_files = vec![p.ca.crl_current.clone()];
    Session::connect(c).await.expect("not revoked: login");
}

#[tokio::test]
async fn revoked_server_certificate_is_refused() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.crl_files = vec![p.ca.crl_revoking_server.clone()];
    let e = Session::connect(c).await.expect_err("revoked: must fail");
    assert!(
        matches!(e, ConnectError::RevokedCertificate { .. }),
        "{e:?}"
    );
    assert!(!e.is_transient(), "a revoked certificate is not retried");
    let msg = e.to_string();
    assert!(
        msg.contains("Revoked") && msg.contains("--crl-file"),
        "{msg}"
    );
}

/// webpki consults one CRL per issuer, the first it finds: an old CRL given
/// before the current one would hide a revocation, so two CRLs of one
/// issuer are refused up front.
#[tokio::test]
async fn two_crls_of_one_issuer_are_a_configuration_error() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.crl_files = vec![p.ca.crl_current.clone(), p.ca.crl_revoking_server.clone()];
    let e = Session::connect(c).await.expect_err("must fail");
    assert!(matches!(e, ConnectError::TlsConfig(_)), "{e:?}");
    assert!(e.to_string().contains("same issuer"), "{e}");
}

/// A CRL in the issuer's name that its key did not sign is not trusted.
#[tokio::test]
async fn crl_in_the_issuers_name_but_forged_is_refused() {
    let p = prosody();
    let other = tempfile::tempdir().expect("tempdir");
    // Same CA name as the lab's, different key.
    let forger = TestCa::generate(other.path(), &["localhost"]).expect("second CA");
    let mut c = p.client_config("publisher", "publisher-pw");
    c.crl_files = vec![forger.crl_current.clone()];
    let e = Session::connect(c)
        .await
        .expect_err("forged CRL: must fail");
    assert!(
        matches!(e, ConnectError::RevokedCertificate { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("unusable CRL"), "{e}");
}

#[tokio::test]
async fn expired_crl_is_not_relied_on() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.crl_files = vec![p.ca.crl_expired.clone()];
    let e = Session::connect(c).await.expect_err("stale CRL: must fail");
    assert!(
        matches!(e, ConnectError::RevokedCertificate { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("ExpiredRevocationList"), "{e}");
}

/// CRLs were asked for, but none is from the server's issuer: the status is
/// unknown, and unknown is not "good".
#[tokio::test]
async fn crl_of_another_issuer_leaves_the_status_unknown_and_refuses() {
    let p = prosody();
    let other = tempfile::tempdir().expect("tempdir");
    let other_ca =
        TestCa::generate_named(other.path(), "another CA", &["localhost"]).expect("second CA");
    let mut c = p.client_config("publisher", "publisher-pw");
    c.crl_files = vec![other_ca.crl_current.clone()];
    let e = Session::connect(c)
        .await
        .expect_err("unknown status: must fail");
    assert!(
        matches!(e, ConnectError::RevokedCertificate { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("UnknownRevocationStatus"), "{e}");
}

#[tokio::test]
async fn crl_file_that_is_not_a_crl_is_a_configuration_error() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    // A PEM file, but a certificate, not a CRL.
    c.crl_files = vec![p.ca.ca_pem.clone()];
    let e = Session::connect(c).await.expect_err("must fail");
    assert!(matches!(e, ConnectError::TlsConfig(_)), "{e:?}");
    assert!(e.to_string().contains("no X509 CRL"), "{e}");
}

#[tokio::test]
async fn matching_pin_lets_the_server_in_with_or_without_prefix() {
    let p = prosody();
    let pin = openssl_pin(&p);
    for form in [pin.clone(), format!("sha256/{pin}")] {
        let mut c = p.client_config("publisher", "publisher-pw");
        // A backup pin that matches nothing may come first.
        c.pin_sha256 = vec!["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(), form];
        Session::connect(c).await.expect("pinned key: login");
    }
}

#[tokio::test]
async fn wrong_pin_is_refused_and_the_message_gives_the_servers_pin() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.pin_sha256 = vec!["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()];
    let e = Session::connect(c).await.expect_err("must fail");
    match &e {
        ConnectError::PinMismatch { got, .. } => assert_eq!(got, &openssl_pin(&p)),
        other => panic!("expected PinMismatch, got {other:?}"),
    }
    assert!(!e.is_transient());
    assert!(e.to_string().contains("--pin-sha256"), "{e}");
}

/// A pin is checked after the certificate's validation, never instead of it.
#[tokio::test]
async fn pin_does_not_replace_certificate_validation() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.pin_sha256 = vec![openssl_pin(&p)];
    c.ca_file = None; // the lab CA is not trusted now
    let e = Session::connect(c).await.expect_err("untrusted: must fail");
    assert!(
        matches!(e, ConnectError::UntrustedCertificate { .. }),
        "{e:?}"
    );
    let mut c = p.client_config("publisher", "publisher-pw");
    c.pin_sha256 = vec![openssl_pin(&p)];
    c.crl_files = vec![p.ca.crl_revoking_server.clone()];
    let e = Session::connect(c).await.expect_err("revoked: must fail");
    assert!(
        matches!(e, ConnectError::RevokedCertificate { .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn malformed_pin_is_a_configuration_error() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.pin_sha256 = vec!["not-base64!".into()];
    let e = Session::connect(c).await.expect_err("must fail");
    assert!(matches!(e, ConnectError::TlsConfig(_)), "{e:?}");
    assert!(e.to_string().contains("44 characters"), "{e}");
}

/// The CLI flags reach the connection: a revoked server stops `discover`
/// with one clear line and a non-zero exit; the right pin lets it through.
#[test]
fn cli_flags_crl_file_and_pin_sha256() {
    let p = prosody();
    let run = |extra: &[&str]| {
        let mut c = gridlink_bare();
        c.args(["discover", "--jid", "publisher@localhost"])
            .args(["--server", &format!("127.0.0.1:{}", p.c2s_port)])
            .arg("--ca-file")
            .arg(&p.ca.ca_pem)
            .env("GRIDLINK_PASSWORD", "publisher-pw")
            .env("GRIDLINK_STATE_DIR", p.dir())
            .args(extra);
        c.output().expect("run gridlink")
    };
    let revoked = p.ca.crl_revoking_server.display().to_string();
    let out = run(&["--crl-file", &revoked]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "revoked server accepted: {err}");
    assert!(err.contains("Revoked"), "{err}");
    let pin = openssl_pin(&p);
    let out = run(&["--pin-sha256", &pin]);
    assert!(
        out.status.success(),
        "pinned server refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "--pin-sha256",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&pin),
        "the message names the server's pin: {err}"
    );
}
