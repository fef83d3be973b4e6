//! The session layer against a real Prosody: TLS modes, SASL choice,
//! fail-fast errors, reconnect, IQ timeouts and concurrency.

mod common;

use std::time::{Duration, Instant};

use common::prosody;
use gridlink::config::StreamManagement;
use gridlink::lab::TcpProxy;
use gridlink::xmpp::{ConnectError, IqError, Session, SessionEvent, SessionEvents};
use tokio_xmpp::minidom::Element;

const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";

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
    // RFC 8600 §8.3.1: TLS 1.2 or higher, TLS 1.3 preferred (Prosody 0.12
    // with OpenSSL 3 offers it).
    assert_eq!(s.tls_version(), Some("TLSv1.3"));
    let info = s
        .get(Some(p.pubsub.parse().unwrap()), disco_info())
        .await
        .expect("disco#info on the pubsub service");
    assert!(info.is_some());
    let log = p.log();
    assert!(
        log.contains("mechanism='SCRAM-SHA-1'") || log.contains("mechanism=\"SCRAM-SHA-1\""),
        "Prosody's log shows no SCRAM-SHA-1 auth"
    );
    assert!(
        !log.contains("mechanism='PLAIN'") && !log.contains("mechanism=\"PLAIN\""),
        "PLAIN was used"
    );
}

/// Direct TLS (XEP-0368) on its own port works too.
#[tokio::test]
async fn direct_tls_login() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.tls_mode = gridlink::config::TlsMode::DirectTls;
    c.server = Some(("127.0.0.1".into(), p.direct_tls_port));
    let s = Session::connect(c).await.expect("direct TLS login");
    assert_eq!(s.mechanism(), "SCRAM-SHA-1");
    assert_eq!(s.tls_version(), Some("TLSv1.3"));
    assert!(s.get(None, disco_info()).await.is_ok());
}

/// Plaintext works only when asked for, on loopback, and still uses SCRAM.
#[tokio::test]
async fn insecure_plaintext_on_loopback() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.jid = "publisher@insecure.localhost".parse().unwrap();
    c.tls_mode = gridlink::config::TlsMode::InsecurePlaintext;
    let s = Session::connect(c).await.expect("plaintext login");
    assert_eq!(s.mechanism(), "SCRAM-SHA-1");
    assert_eq!(s.tls_version(), None);
}

/// A wrong password is a clear, immediate error — not an endless retry.
#[tokio::test]
async fn wrong_password_fails_fast() {
    let p = prosody();
    let t = Instant::now();
    let e = Session::connect(p.client_config("publisher", "wrong"))
        .await
        .expect_err("must fail");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(matches!(e, ConnectError::AuthFailed { .. }), "{e:?}");
    assert!(e.to_string().contains("not-authorized"), "{e}");
}

/// A server certificate from an unknown CA is refused, and the message says so.
#[tokio::test]
async fn untrusted_ca_is_refused() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.ca_file = None;
    let e = Session::connect(c).await.expect_err("must fail");
    assert!(
        matches!(e, ConnectError::UntrustedCertificate { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("--ca-file"), "{e}");
}

/// The certificate must match the name we expect (`--tls-name`).
#[tokio::test]
async fn wrong_tls_name_is_refused() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.tls_name = Some("elsewhere.example".into());
    let e = Session::connect(c).await.expect_err("must fail");
    assert!(
        matches!(e, ConnectError::UntrustedCertificate { .. }),
        "{e:?}"
    );
}

/// Nothing listening: "connection refused", at once.
#[tokio::test]
async fn nothing_listening_is_refused() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.server = Some(("127.0.0.1".into(), gridlink::lab::free_port().unwrap()));
    let e = Session::connect(c).await.expect_err("must fail");
    assert!(matches!(e, ConnectError::Refused { .. }), "{e:?}");
}

/// An unknown host name is reported as such.
#[tokio::test]
async fn unknown_host_is_reported() {
    let p = prosody();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.server = Some(("no-such-host.invalid".into(), 5222));
    let e = Session::connect(c).await.expect_err("must fail");
    assert!(matches!(e, ConnectError::UnknownHost { .. }), "{e:?}");
}

async fn next_matching(
    events: &mut SessionEvents,
    within: Duration,
    want: impl Fn(&SessionEvent) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(ev)) => {
                let done = want(&ev);
                seen.push(format!("{ev:?}"));
                if done {
                    return seen;
                }
            }
            Ok(None) => panic!("event stream ended; saw {seen:?}"),
            Err(_) => panic!("expected event not seen within {within:?}; saw {seen:?}"),
        }
    }
}

/// A Prosody restart loses the server-side session: the client reconnects
/// by itself, announces a new session, and is usable again.
#[tokio::test]
async fn reconnects_after_server_restart_with_new_session() {
    let mut p = prosody();
    let s = Session::connect(p.client_config("publisher", "publisher-pw"))
        .await
        .unwrap();
    let mut ev = s.take_events().unwrap();
    next_matching(&mut ev, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::NewSession { .. })
    })
    .await;
    p.start_again().unwrap();
    let seen = next_matching(&mut ev, Duration::from_secs(30), |e| {
        matches!(e, SessionEvent::NewSession { .. })
    })
    .await;
    assert!(seen.iter().any(|e| e.contains("Suspended")), "{seen:?}");
    s.get(None, disco_info())
        .await
        .expect("usable after reconnect");
}

/// An account deleted while its session is up: after the server restart
/// the session cannot log in again, and instead of retrying forever it
/// ends after `GIVE_UP_AFTER` refusals, says why, and its event stream ends.
#[tokio::test]
async fn session_ends_when_reconnecting_cannot_succeed() {
    let mut p = prosody();
    let s = Session::connect(p.client_config("publisher", "publisher-pw"))
        .await
        .unwrap();
    let mut ev = s.take_events().unwrap();
    p.delete_user("publisher").unwrap();
    p.start_again().unwrap();
    let mut refused = 0;
    let ended = tokio::time::timeout(Duration::from_secs(40), async {
        while let Some(e) = ev.recv().await {
            if let SessionEvent::ReconnectFailed { error, .. } = &e {
                assert!(error.contains("not-authorized"), "{error}");
                refused += 1;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the event stream did not end");
    assert_eq!(refused, gridlink::xmpp::GIVE_UP_AFTER - 1);
    let why = s.failure().expect("a reason");
    assert!(why.contains("not-authorized"), "{why}");
    assert_eq!(s.state(), gridlink::xmpp::SessionState::Closed);
    assert!(s.get(None, disco_info()).await.is_err());
}

/// A network cut (every connection dropped, reconnects refused for a while)
/// is repaired by XEP-0198 resumption: same session, nothing lost.
#[tokio::test]
async fn tcp_cut_is_resumed() {
    let seen = cut_and_restore(StreamManagement::Auto).await;
    assert!(seen.last().unwrap().contains("Resumed"), "{seen:?}");
}

/// With XEP-0198 off (`Config::stream_management`), the same cut ends the
/// session: the repair is a new session (which a follower answers with a
/// catch-up from the topics' items), never a resumption. Fails if the
/// setting does not reach the negotiation.
#[tokio::test]
async fn tcp_cut_without_stream_management_is_a_new_session() {
    let seen = cut_and_restore(StreamManagement::Off).await;
    assert!(seen.last().unwrap().contains("NewSession"), "{seen:?}");
}

/// Connects through a proxy with `sm`, cuts every connection for 3 s,
/// restores them, and returns the events seen until the session was
/// resumed or replaced; the session must then answer a request.
async fn cut_and_restore(sm: StreamManagement) -> Vec<String> {
    let p = prosody();
    let mut proxy = TcpProxy::start(format!("127.0.0.1:{}", p.c2s_port).parse().unwrap())
        .await
        .unwrap();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.server = Some(("127.0.0.1".into(), proxy.port));
    c.stream_management = sm;
    let s = Session::connect(c).await.unwrap();
    let mut ev = s.take_events().unwrap();
    next_matching(&mut ev, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::NewSession { .. })
    })
    .await;
    proxy.cut();
    next_matching(&mut ev, Duration::from_secs(10), |e| {
        matches!(e, SessionEvent::Suspended)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.restore().await.unwrap();
    let seen = next_matching(&mut ev, Duration::from_secs(30), |e| {
        matches!(e, SessionEvent::Resumed | SessionEvent::NewSession { .. })
    })
    .await;
    s.get(None, disco_info())
        .await
        .expect("usable after the repair");
    seen
}

/// An IQ that gets no answer fails with a timeout instead of hanging, and
/// the session keeps working afterwards.
#[tokio::test]
async fn unanswered_iq_times_out() {
    let p = prosody();
    let proxy = TcpProxy::start(format!("127.0.0.1:{}", p.c2s_port).parse().unwrap())
        .await
        .unwrap();
    let mut c = p.client_config("publisher", "publisher-pw");
    c.server = Some(("127.0.0.1".into(), proxy.port));
    let s = Session::connect(c).await.unwrap();
    proxy.stall();
    let e = s
        .iq(false, None, disco_info(), Duration::from_millis(800))
        .await
        .expect_err("no answer can come");
    assert!(matches!(e, IqError::Timeout { .. }), "{e:?}");
    assert!(e.to_string().contains("within"), "{e}");
}

/// 100 IQs in flight at once are all matched to their answers.
#[tokio::test]
async fn hundred_concurrent_iqs() {
    let p = prosody();
    let s = Session::connect(p.client_config("publisher", "publisher-pw"))
        .await
        .unwrap();
    let pubsub: tokio_xmpp::jid::Jid = p.pubsub.parse().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let s = s.clone();
        let to = pubsub.clone();
        tasks.push(tokio::spawn(
            async move { s.get(Some(to), disco_info()).await },
        ));
    }
    let mut ok = 0;
    for t in tasks {
        let r = t.await.unwrap().expect("answered");
        assert!(r.unwrap().is("query", DISCO_INFO));
        ok += 1;
    }
    assert_eq!(ok, 100);
}

/// A relay that deletes `<starttls/>` from the server's first stream
/// features (a downgrade attack) and then passes bytes through; says
/// whether it deleted anything.
async fn stripping_relay(
    target: std::net::SocketAddr,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stripped = std::sync::Arc::new(AtomicBool::new(false));
    let flag = stripped.clone();
    tokio::spawn(async move {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        let server = tokio::net::TcpStream::connect(target).await.unwrap();
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut cr, &mut sw).await;
        });
        // Server to client: hold the bytes until the first features end,
        // take STARTTLS out, then relay as is.
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let Ok(n) = sr.read(&mut buf).await else {
                return;
            };
            if n == 0 {
                return;
            }
            head.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&head).into_owned();
            if text.contains("</stream:features>") {
                let (Some(start), Some(end)) = (text.find("<starttls"), text.find("</starttls>"))
                else {
                    panic!("no STARTTLS offered: {text}");
                };
                let out = format!("{}{}", &text[..start], &text[end + "</starttls>".len()..]);
                flag.store(true, Ordering::SeqCst);
                if cw.write_all(out.as_bytes()).await.is_err() {
                    return;
                }
                break;
            }
        }
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
    });
    (port, stripped)
}

/// RFC 7590 §3.1 / checklist 16: STARTTLS is attempted even when the
/// server's features do not offer it (stripped on the way), so the
/// downgrade gets TLS anyway instead of a plaintext login.
#[tokio::test]
async fn starttls_attempted_when_not_advertised() {
    let p = prosody();
    let (port, stripped) = stripping_relay(([127, 0, 0, 1], p.c2s_port).into()).await;
    let mut c = p.client_config("publisher", "publisher-pw");
    c.server = Some(("127.0.0.1".into(), port));
    let s = Session::connect(c)
        .await
        .expect("login over the stripping relay");
    assert!(stripped.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(s.tls_version(), Some("TLSv1.3"));
    assert_eq!(s.mechanism(), "SCRAM-SHA-1");
}
