//! How refused credentials are logged: wrong tokens at debug (a guessing
//! flood must not flood the info log), never with the token. In a file of
//! its own because it installs the process's global `tracing` subscriber.

mod common;

use common::rolie::*;
use gridlink::rolie::Hooks;
use reqwest::header;

async fn status(s: &TestServer, path: &str, auth: Option<&str>) -> u16 {
    let mut r = client()
        .post(s.url(path))
        .header(header::CONTENT_TYPE, "application/xml")
        .body(iodef_examples()[0].1.clone());
    if let Some(a) = auth {
        r = r.header(header::AUTHORIZATION, a);
    }
    r.send().await.unwrap().status().as_u16()
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Wrong tokens are logged at debug (a guessing flood must not flood the
/// info log), never with the token; a refused POST without a token stays
/// in the info audit trail.
#[tokio::test]
async fn wrong_tokens_are_logged_at_debug_without_the_token() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The only test of this file (so of this process): the subscriber can
    // be the global one, which sees the server's threads too.
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
    let s = start_in(None, base_config(), Hooks::default()).await;
    let path = "/rolie/feeds/incidents";
    assert_eq!(status(&s, path, Some("Bearer guess-S3cr3t")).await, 401);
    assert_eq!(status(&s, path, None).await, 401);
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let refused: Vec<&str> = text.lines().filter(|l| l.contains("status=401")).collect();
    assert_eq!(refused.len(), 2, "{text}");
    assert!(
        refused[0].contains("DEBUG") && refused[0].contains("bearer token not accepted"),
        "{text}"
    );
    assert!(
        refused[1].contains("INFO") && refused[1].contains("http write"),
        "{text}"
    );
    assert!(!text.contains("S3cr3t"), "{text}");
}
