//! What the RID tests share: a lab CA per organisation (its certificate valid for `NAME.example` and
//! `localhost`), files in a temp dir, the leaf of a chain, `xmlsec1` (the independent XML Signature
//! and Encryption implementation), and a `gridlink rid serve` started and waited for.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gridlink::lab::TestCa;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use super::hostile::Proc;

/// The lab CA of organisation `name` in `dir/name`, its server certificate for `name.example`
/// and `localhost`.
pub fn ca(dir: &Path, name: &str) -> TestCa {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    TestCa::generate_named(
        &d,
        &format!("{name} RID CA"),
        &[&format!("{name}.example"), "localhost"],
    )
    .unwrap()
}

/// `text` written to `dir/name`.
pub fn write(dir: &Path, name: &str, text: &(impl AsRef<[u8]> + ?Sized)) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text.as_ref()).unwrap();
    p
}

/// The first certificate (DER) of a PEM chain.
pub fn leaf(chain: &Path) -> Vec<u8> {
    CertificateDer::pem_file_iter(chain)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

/// Runs `xmlsec1` (Debian package xmlsec1, installed by scripts/deps): success and its output.
pub fn xmlsec1(args: &[&str]) -> (bool, String) {
    let out = Command::new("xmlsec1")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("xmlsec1 is needed (Debian package xmlsec1, installed by scripts/deps): {e}")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Starts `c` (a `gridlink … rid serve …` command) as `name` and waits until it listens: the
/// process and its port.
pub async fn rid_serve(name: &str, c: Command) -> (Proc, u16) {
    let mut srv = Proc::spawn(name, tokio::process::Command::from(c));
    let line = srv
        .wait_line(true, Duration::from_secs(30), |l| {
            l.contains("listening on https://")
        })
        .await;
    let port = line
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .trim()
        .parse()
        .unwrap();
    (srv, port)
}
