//! Secure defaults, verified against a real Prosody and the real binary
//! (issue #6, item 5).

// Checklist (issue #6 item 5 → test):
// - plaintext refused unless `--insecure-plaintext`
//       → `plaintext_refused_unless_insecure_plaintext`
//         (plaintext login when asked, SCRAM still: xmpp_session.rs `insecure_plaintext_on_loopback`)
// - an untrusted certificate refused
//       → `untrusted_certificate_refused` (STARTTLS and direct TLS, a foreign CA)
//         also xmpp_session.rs `untrusted_ca_is_refused`, `wrong_tls_name_is_refused`,
//         cli.rs `untrusted_ca_and_closed_port_are_one_line_errors` (system roots only)
// - PLAIN never chosen when SCRAM is offered
//       → `plain_never_chosen_when_scram_offered` (Prosody shown to offer PLAIN too)
//         also xmpp_session.rs `starttls_login_uses_scram_not_plain`, src/xmpp/connect.rs unit
//         tests `scram_beats_plain`, `plain_only_over_tls`
// - passwords and tokens never in logs (search the test logs for them)
//       → `secrets_never_in_logs` (trace level: connect, publish, subscribe, failed auth,
//         bridge POST with right and wrong tokens); also cli.rs `password_not_in_trace_logs`
// - the bridge refuses a non-loopback listener without TLS unless told otherwise
//       → `bridge_refuses_plain_http_on_non_loopback` (the CLI, before joining the grid)
//         also rolie_http.rs `refuses_insecure_non_loopback` (library)

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::hostile::*;
use common::{gridlink_as_async, gridlink_async, gridlink_bare_async, gridlink_to_async};
use gridlink::config::TlsMode;
use gridlink::lab::Prosody;
use gridlink::xmpp::{ConnectError, Session};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Prosody's log lines saying `jid` authenticated.
fn authentications(p: &Prosody, jid: &str) -> usize {
    p.log()
        .lines()
        .filter(|l| l.contains("Authenticated as") && l.contains(jid))
        .count()
}

/// `insecure.localhost` is a lab host without TLS (mod_tls disabled). By
/// default gridlink insists on STARTTLS, gets none, and stops before
/// authenticating — one line, non-zero. `--insecure-plaintext` works there
/// (with a warning), but never towards a non-loopback address: that is
/// refused before any connection is opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_refused_unless_insecure_plaintext() {
    let p = prosody_with_secret_passwords();
    let jid = "publisher@insecure.localhost";
    let mut c = gridlink_as_async(&p, jid, PUBLISHER_PW);
    c.arg("discover");
    let t = Instant::now();
    let (code, _, err) = run(c, Duration::from_secs(30)).await;
    assert_ne!(code, Some(0), "connected without TLS: {err}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("STARTTLS"), "{err}");
    assert_eq!(
        authentications(&p, jid),
        0,
        "the password went out in clear"
    );

    // The library says the same, typed.
    let mut cfg = p.client_config("publisher", PUBLISHER_PW);
    cfg.jid = jid.parse().unwrap();
    let e = Session::connect(cfg.clone()).await.expect_err("no TLS");
    assert!(matches!(e, ConnectError::StartTlsRefused), "{e:?}");

    // Asked for: plaintext on loopback, with a warning.
    let mut c = gridlink_as_async(&p, jid, PUBLISHER_PW);
    c.args(["--insecure-plaintext", "--pubsub", "pubsub.localhost"])
        .args(["discover", "--json"]);
    let (code, out, err) = run(c, Duration::from_secs(30)).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("pubsub"), "{out}");
    assert!(err.contains("WITHOUT TLS"), "no warning: {err}");
    assert_eq!(authentications(&p, jid), 1);

    // Never to a remote address, not even a first TCP packet: 192.0.2.1
    // (TEST-NET-1) would only time out if a connection were tried.
    let mut c = gridlink_bare_async();
    c.env_clear()
        .env("GRIDLINK_PASSWORD", PUBLISHER_PW)
        .args(["--jid", jid, "--server", "192.0.2.1:5222"])
        .args(["--insecure-plaintext", "discover"])
        .kill_on_drop(true);
    let t = Instant::now();
    let (code, _, err) = run(c, Duration::from_secs(30)).await;
    assert_ne!(code, Some(0));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("only allowed to a loopback address"), "{err}");
    cfg.server = Some(("192.0.2.1".into(), 5222));
    cfg.tls_mode = TlsMode::InsecurePlaintext;
    let e = Session::connect(cfg).await.expect_err("remote plaintext");
    assert!(
        matches!(e, ConnectError::PlaintextNotLoopback { .. }),
        "{e:?}"
    );
}

/// A server certificate from a CA we were not told to trust — a real CA,
/// just not the server's — is refused on STARTTLS and on direct TLS, before
/// the password is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_refused() {
    let p = prosody_with_secret_passwords();
    let other = tempfile::tempdir().unwrap();
    let foreign = gridlink::lab::TestCa::generate(other.path(), &["localhost"]).unwrap();
    for direct in [false, true] {
        let mut cfg = p.client_config("publisher", PUBLISHER_PW);
        cfg.ca_file = Some(foreign.ca_pem.clone());
        if direct {
            cfg.tls_mode = TlsMode::DirectTls;
            cfg.server = Some(("127.0.0.1".into(), p.direct_tls_port));
        }
        let e = Session::connect(cfg).await.expect_err("untrusted");
        assert!(
            matches!(e, ConnectError::UntrustedCertificate { .. }),
            "direct={direct}: {e:?}"
        );
        assert!(e.to_string().contains("--ca-file"), "{e}");
    }
    let mut c = gridlink_to_async(
        "publisher",
        PUBLISHER_PW,
        &format!("127.0.0.1:{}", p.direct_tls_port),
        &foreign.ca_pem,
    );
    c.args(["--direct-tls", "discover"]);
    let (code, _, err) = run(c, Duration::from_secs(30)).await;
    assert_ne!(code, Some(0));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("untrusted server certificate"), "{err}");
    assert_eq!(authentications(&p, "publisher@localhost"), 0);
}

/// Reads from `io` until `needle` shows up; returns everything read.
async fn read_until(io: &mut (impl AsyncRead + Unpin), needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), io.read(&mut buf))
            .await
            .expect("server answered")
            .expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if text.contains(needle) {
            return text.into_owned();
        }
    }
}

async fn features(io: &mut (impl AsyncRead + AsyncWrite + Unpin)) -> String {
    io.write_all(b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        .await
        .unwrap();
    read_until(io, "</stream:features>").await
}

/// The SASL mechanisms Prosody offers after TLS (STARTTLS or direct),
/// read with a raw stream of our own.
async fn offered_after_tls(p: &Prosody, direct: bool) -> String {
    use std::sync::Arc;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};
    let port = if direct {
        p.direct_tls_port
    } else {
        p.c2s_port
    };
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    if !direct {
        features(&mut tcp).await;
        tcp.write_all(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .await
            .unwrap();
        read_until(&mut tcp, "<proceed").await;
    }
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&p.ca.ca_pem).unwrap())
        .unwrap();
    let tls = ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS with the lab CA");
    features(&mut tls).await
}

/// Prosody offers PLAIN beside SCRAM-SHA-1 over TLS (checked with a raw
/// stream, so the test cannot pass because PLAIN was never on offer);
/// gridlink, over STARTTLS and direct TLS, authenticates with SCRAM-SHA-1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_never_chosen_when_scram_offered() {
    let p = prosody_with_secret_passwords();
    for direct in [false, true] {
        let offered = offered_after_tls(&p, direct).await;
        assert!(
            offered.contains(">PLAIN<") && offered.contains(">SCRAM-SHA-1<"),
            "direct={direct}: {offered}"
        );
        let port = if direct {
            p.direct_tls_port
        } else {
            p.c2s_port
        };
        let mut c = gridlink_to_async(
            "publisher",
            PUBLISHER_PW,
            &format!("127.0.0.1:{port}"),
            &p.ca.ca_pem,
        );
        if direct {
            c.arg("--direct-tls");
        }
        c.args(["-v", "discover"]);
        let (code, _, err) = run(c, Duration::from_secs(30)).await;
        assert_eq!(code, Some(0), "{err}");
        let auth = err
            .lines()
            .find(|l| l.contains("authenticated"))
            .unwrap_or_else(|| panic!("no authentication logged: {err}"));
        assert!(auth.contains("SCRAM-SHA-1"), "{auth}");
        assert!(!auth.contains("PLAIN"), "{auth}");
    }
    let log = p.log();
    assert!(log.contains("SCRAM-SHA-1"), "Prosody saw no SCRAM");
    assert!(
        !log.contains("mechanism='PLAIN'") && !log.contains("mechanism=\"PLAIN\""),
        "PLAIN was used"
    );
}

/// Passwords (right and wrong, from the environment, a file and the
/// command line) and bearer tokens (right and wrong) appear nowhere in the
/// output of gridlink processes run at trace level through: connect,
/// subscribe, publish, a failed authentication, a bridge POST with the
/// right token and one with a wrong token. Neither do the base64 forms a
/// PLAIN exchange would carry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_in_logs() {
    const WRONG_PW: &str = "wrong-S3cr3t-61d09b7e";
    const WRONG_TOKEN: &str = "badtok-S3cr3t-0c5fa2";
    let mut lab = Lab::start(LabOptions {
        rust_log: Some("trace".into()),
        ..LabOptions::default()
    })
    .await;
    let mut outputs = Vec::new();

    // Publish (password from the environment).
    let mut c = gridlink_async(&lab.prosody, "publisher", PUBLISHER_PW);
    c.env("RUST_LOG", "trace")
        .args(["-vvv", "publish", "--topic", TOPIC])
        .arg(common::fixture(common::VALID[0]));
    let (code, out, err) = run(c, Duration::from_secs(60)).await;
    assert_eq!(code, Some(0), "{err}");
    outputs.push(("publish", format!("{out}\n{err}")));
    lab.subscriber
        .wait_line(false, Duration::from_secs(20), |l| {
            l.contains("\"kind\":\"item\"")
        })
        .await;

    // A failed authentication (wrong password from a file; JSON logs).
    let pwfile = lab.dir.path().join("wrong-pw");
    std::fs::write(&pwfile, format!("{WRONG_PW}\n")).unwrap();
    let mut c = gridlink_async(&lab.prosody, "publisher", "");
    c.env_remove("GRIDLINK_PASSWORD")
        .env("RUST_LOG", "trace")
        .arg("--password-file")
        .arg(&pwfile)
        .args(["--log-format", "json", "-vvv", "discover"]);
    let (code, out, err) = run(c, Duration::from_secs(30)).await;
    assert_ne!(code, Some(0));
    assert!(err.contains("authentication failed"), "{err}");
    outputs.push(("failed auth", format!("{out}\n{err}")));

    // A successful discover with the password on the command line.
    let mut c = gridlink_async(&lab.prosody, "subscriber", "");
    c.env_remove("GRIDLINK_PASSWORD")
        .env("RUST_LOG", "trace")
        .args(["--password", SUBSCRIBER_PW, "-vvv", "discover"]);
    let (code, out, err) = run(c, Duration::from_secs(30)).await;
    assert_eq!(code, Some(0), "{err}");
    outputs.push(("discover", format!("{out}\n{err}")));

    // Bridge POSTs: the right token (201) and a wrong one (401).
    let url = lab.url(&format!("/rolie/feeds/{TOPIC}"));
    for (token, status) in [(TOKEN, 201), (WRONG_TOKEN, 401)] {
        let r = client()
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/xml")
            .body(common::fixture_bytes(common::VALID[1]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status);
    }
    let posted = gridlink::grid::Payload::prepare(
        &common::fixture_bytes(common::VALID[1]),
        gridlink::iodef::ValidationLevel::Strict,
        1 << 20,
    )
    .unwrap()
    .item_id;
    lab.subscriber
        .wait_line(false, Duration::from_secs(20), |l| {
            l.contains(&format!("\"item_id\":\"{posted}\""))
        })
        .await;
    lab.assert_alive().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    outputs.push(("bridge", lab.bridge.output()));
    outputs.push(("subscribe", lab.subscriber.output()));

    // The logs are really at trace level and cover what happened.
    let bridge = &outputs.iter().find(|(n, _)| *n == "bridge").unwrap().1;
    for needle in ["TRACE", "authenticated", "published via AtomPub", "POST"] {
        assert!(bridge.contains(needle), "bridge log lacks {needle:?}");
    }
    for (name, text) in &outputs {
        assert!(
            text.contains("TRACE") || text.contains("\"TRACE\""),
            "{name} log is not at trace level"
        );
    }

    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut secrets: Vec<String> = [
        PUBLISHER_PW,
        SUBSCRIBER_PW,
        BRIDGE_PW,
        WRONG_PW,
        TOKEN,
        WRONG_TOKEN,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (user, pw) in [
        ("publisher", PUBLISHER_PW),
        ("subscriber", SUBSCRIBER_PW),
        ("bridge", BRIDGE_PW),
        ("publisher", WRONG_PW),
    ] {
        secrets.push(b64(&format!("\0{user}\0{pw}")));
        secrets.push(b64(pw));
    }
    for s in [TOKEN, WRONG_TOKEN] {
        secrets.push(b64(s));
    }
    for (name, text) in &outputs {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{name} output contains the secret {s:?}"
            );
        }
    }
}

/// `gridlink bridge --listen 0.0.0.0:…` without TLS is refused — before the
/// bridge even joins the grid (the XMPP server given here does not exist,
/// and the error is still about the listener); `--allow-insecure-http`
/// overrides with a warning; with TLS no override is needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_refuses_plain_http_on_non_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = gridlink::lab::free_port().unwrap();
    for listen in ["0.0.0.0:0", "[::]:0", "192.0.2.7:8080"] {
        let mut c = gridlink_bare_async();
        c.env_clear()
            .args(["--jid", "bridge@localhost", "--password", "x"])
            .args(["--server", &format!("127.0.0.1:{nowhere}")])
            .arg("--state-dir")
            .arg(dir.path())
            .args(["bridge", "--topic", TOPIC, "--listen", listen])
            .kill_on_drop(true);
        let (code, _, err) = run(c, Duration::from_secs(15)).await;
        assert_ne!(code, Some(0));
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains("refusing to serve plain HTTP on non-loopback"),
            "{listen}: {err}"
        );
    }
    // The same from the config file's [bridge] table.
    let cfg = dir.path().join("g.toml");
    std::fs::write(&cfg, "[bridge]\nlisten = \"0.0.0.0:8080\"\n").unwrap();
    let mut c = gridlink_bare_async();
    c.env_clear()
        .args(["--jid", "bridge@localhost", "--password", "x"])
        .args(["--server", &format!("127.0.0.1:{nowhere}")])
        .arg("--config")
        .arg(&cfg)
        .args(["bridge", "--topic", TOPIC])
        .kill_on_drop(true);
    let (code, _, err) = run(c, Duration::from_secs(15)).await;
    assert_ne!(code, Some(0));
    assert!(err.contains("refusing to serve plain HTTP"), "{err}");

    // Told otherwise: it serves, and warns.
    let p = prosody_with_secret_passwords();
    let publisher = gridlink::Grid::connect(p.client_config("publisher", PUBLISHER_PW))
        .await
        .unwrap();
    publisher
        .create_topic(
            TOPIC,
            &gridlink::grid::TopicOptions {
                access_model: gridlink::grid::AccessModel::Open,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for (extra, warns) in [
        (vec!["--allow-insecure-http".to_owned()], true),
        (
            vec![
                "--tls-cert".to_owned(),
                p.ca.server_chain_pem.display().to_string(),
                "--tls-key".to_owned(),
                p.ca.server_key_pem.display().to_string(),
            ],
            false,
        ),
    ] {
        let mut c = gridlink_async(&p, "bridge", BRIDGE_PW);
        c.arg("--state-dir")
            .arg(dir.path())
            .args([
                "bridge",
                "--topic",
                TOPIC,
                "--listen",
                "0.0.0.0:0",
                "--store",
            ])
            .arg(dir.path().join(format!("s{warns}.sqlite")))
            .args(&extra);
        let mut b = Proc::spawn("gridlink bridge", c);
        b.wait_line(true, Duration::from_secs(30), |l| {
            l.contains("serving ROLIE on 0.0.0.0:")
        })
        .await;
        let warned = b
            .stderr_lines()
            .iter()
            .any(|l| l.contains("plain HTTP on a non-loopback address"));
        assert_eq!(warned, warns, "{}", b.output());
        assert!(b.alive());
        b.stop().await;
    }
}
