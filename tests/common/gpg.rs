//! GnuPG (`gpg`, Debian `gnupg`) as the independent OpenPGP implementation
//! of the CSAF signature tests: a throwaway key in a temporary GNUPGHOME,
//! its public certificate, detached armored signatures. Its gpg-agent is
//! stopped when the key is dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One OpenPGP key in its own GNUPGHOME.
pub struct GpgKey {
    home: tempfile::TempDir,
    /// The primary key's fingerprint (upper-case hex).
    pub fingerprint: String,
}

fn gpg(home: &Path) -> Command {
    let mut c = Command::new("gpg");
    c.arg("--homedir").arg(home).args([
        "--batch",
        "--no-tty",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
    ]);
    c
}

fn run(mut c: Command) -> Vec<u8> {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("gpg is required (Debian gnupg): run scripts/deps ({e})"));
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl GpgKey {
    /// A new Ed25519 key for `uid`. With `subkey`, the primary key only
    /// certifies and a signing subkey (which gpg then signs with) is added;
    /// otherwise the primary key signs.
    pub fn generate(uid: &str, subkey: bool) -> GpgKey {
        // Short: gpg-agent's socket path must fit in sun_path.
        let home = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let usage = if subkey { "cert" } else { "sign" };
        let mut c = gpg(home.path());
        c.args(["--quick-gen-key", uid, "ed25519", usage, "never"]);
        run(c);
        let mut c = gpg(home.path());
        c.args(["--with-colons", "--list-keys", uid]);
        let listing = String::from_utf8(run(c)).unwrap();
        let fingerprint = listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| f.len() == 40))
            .expect("a fingerprint")
            .to_owned();
        if subkey {
            let mut c = gpg(home.path());
            c.args(["--quick-add-key", &fingerprint, "ed25519", "sign", "never"]);
            run(c);
        }
        GpgKey { home, fingerprint }
    }

    /// The armored public certificate.
    pub fn export(&self) -> Vec<u8> {
        let mut c = gpg(self.home.path());
        c.args(["--armor", "--export", &self.fingerprint]);
        run(c)
    }

    /// The certificate written to `dir/NAME.asc`.
    pub fn export_to(&self, dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(format!("{name}.asc"));
        std::fs::write(&p, self.export()).unwrap();
        p
    }

    /// An armored detached signature of `data`.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        self.sign_with(data, &[])
    }

    /// Same, with more gpg options (`--digest-algo SHA1`, `--textmode`,
    /// `--faked-system-time …`).
    pub fn sign_with(&self, data: &[u8], options: &[&str]) -> Vec<u8> {
        let file = self.home.path().join("data");
        std::fs::write(&file, data).unwrap();
        let sig = self.home.path().join("data.asc");
        let _ = std::fs::remove_file(&sig);
        let mut c = gpg(self.home.path());
        c.args(options)
            .args([
                "--armor",
                "--detach-sign",
                "--local-user",
                &self.fingerprint,
                "--output",
            ])
            .arg(&sig)
            .arg(&file);
        run(c);
        std::fs::read(sig).unwrap()
    }
}

impl Drop for GpgKey {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}
