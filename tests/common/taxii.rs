//! The TAXII 2.1 tests' harness (issue 26): a ROLIE server with the TAXII routes mounted over a
//! temp store (read-only: `NoPublisher`), the taxii2-client script, the stix2-validator script,
//! and Prosody + a `gridlink bridge` process for writes that go through the grid.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use gridlink::rolie::{Hooks, NoPublisher, RolieConfig, RolieServer};
use gridlink::store::Store;
use tokio::sync::oneshot;

use super::fixtures::fixture;

/// The write token of the harness.
pub const WRITE: &str = "taxii-write-7c1d";
/// A read token.
pub const READ: &str = "taxii-read-2b9a";
/// A read token that covers only topic `other`.
pub const SCOPED: &str = "taxii-scoped-55e0";

/// A TAXII server over a temp store; dropping it stops the server.
pub struct Taxii {
    pub base: String,
    pub store: Store,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl Taxii {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for Taxii {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Writes the token files into `dir`: [`WRITE`]; [`READ`] and [`SCOPED`] (topic `other`).
pub fn token_files(dir: &Path) -> (PathBuf, PathBuf) {
    let (w, r) = (dir.join("write-tokens"), dir.join("read-tokens"));
    std::fs::write(&w, format!("{WRITE}\n")).unwrap();
    std::fs::write(&r, format!("{READ}\n{SCOPED} other\n")).unwrap();
    (w, r)
}

/// A ROLIE server with reads needing a token, the TAXII routes mounted, topics `incidents`
/// and `other` configured.
pub async fn start() -> Taxii {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store.sqlite")).unwrap();
    let (w, r) = token_files(dir.path());
    let mut config = RolieConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        write_token_file: Some(w),
        read_token_file: Some(r),
        ..RolieConfig::default()
    };
    for t in ["incidents", "other"] {
        config.topics.insert(t.into(), Default::default());
    }
    let server = RolieServer::bind(
        config,
        store.clone(),
        Arc::new(NoPublisher),
        Hooks::default(),
    )
    .await
    .expect("bind")
    .mount(gridlink::taxii::router);
    let base = format!("http://{}", server.local_addr());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = server
            .run(async {
                let _ = rx.await;
            })
            .await;
    });
    Taxii {
        base,
        store,
        dir,
        stop: Some(tx),
    }
}

/// `python3 tests/py/taxii_client.py ARGS…` (taxii2-client must be installed: scripts/deps).
pub fn taxii_client(args: &[&str]) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(fixture("../py/taxii_client.py"))
        .args(args)
        .output()
        .expect("python3 (scripts/deps installs taxii2-client)");
    assert!(
        out.status.success(),
        "taxii2-client failed (pip install -r tests/requirements.txt):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// stix2-validator at its strictest over `bundles` (files); panics with the report.
pub fn stix_validate(bundles: &[PathBuf]) {
    let out = Command::new("python3")
        .arg(fixture("../py/stix_validate.py"))
        .args(bundles)
        .output()
        .expect("python3 (scripts/deps installs stix2-validator)");
    assert!(
        out.status.success(),
        "stix2-validator (strict) found problems:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A reqwest client that gives up after 20 s.
pub fn http() -> reqwest::Client {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}
