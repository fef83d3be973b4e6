//! A throwaway PostgreSQL 15 (Debian's `postgresql` package): `initdb` in a
//! temp dir, the server on a free 127.0.0.1 port with its socket in that
//! dir, trust authentication for the `gridlink` role, stopped on drop. For
//! the tests and benchmarks of `--store postgres://…` (replicas sharing a
//! database). PostgreSQL refuses to run as root: as root the lab runs it
//! as the `postgres` system user the package creates.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::process::{free_port, stop, tail, wait_for_ports};

/// Where Debian installs the server binaries.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Why the lab PostgreSQL is not there.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// The binaries are missing.
    #[error("PostgreSQL 15 was not found at {PG_BIN}: install it with `sudo apt-get install -y postgresql` (`scripts/deps` does this)")]
    NotInstalled,
    /// `initdb` or the server failed.
    #[error("PostgreSQL: {0}")]
    Failed(String),
    /// A file or process operation failed.
    #[error("lab I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A running lab PostgreSQL (stopped and deleted on drop).
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// (uid, gid) to run as, when we are root.
    run_as: Option<(u32, u32)>,
    /// With TLS: the lab CA that signed the server's certificate.
    tls: Option<super::TestCa>,
}

impl Postgres {
    /// `initdb`, then starts the server.
    pub fn start() -> Result<Postgres, PostgresError> {
        Postgres::start_with(false)
    }

    /// [`start`](Self::start) with TLS on (a certificate for `localhost`
    /// from a lab CA, see [`ca_pem`](Self::ca_pem)); plain connections are
    /// still accepted.
    pub fn start_tls() -> Result<Postgres, PostgresError> {
        Postgres::start_with(true)
    }

    /// The lab CA's certificate, with TLS.
    pub fn ca_pem(&self) -> Option<&Path> {
        self.tls.as_ref().map(|ca| ca.ca_pem.as_path())
    }

    fn start_with(tls: bool) -> Result<Postgres, PostgresError> {
        if !Path::new(PG_BIN).join("initdb").is_file() {
            return Err(PostgresError::NotInstalled);
        }
        let dir = tempfile::Builder::new().prefix("gridlink-pg-").tempdir()?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let run_as = if root {
            let ids = system_user("postgres").ok_or_else(|| {
                PostgresError::Failed("running as root and no `postgres` user to run as".into())
            })?;
            std::os::unix::fs::chown(dir.path(), Some(ids.0), Some(ids.1))?;
            Some(ids)
        } else {
            None
        };
        let mut pg = Postgres {
            port: free_port()?,
            dir,
            child: None,
            run_as,
            tls: None,
        };
        if tls {
            let certs = pg.dir.path().join("certs");
            std::fs::create_dir_all(&certs)?;
            let ca = super::TestCa::generate(&certs, &["localhost"])?;
            // PostgreSQL wants its key private and its own.
            for f in [&certs, &ca.server_chain_pem, &ca.server_key_pem] {
                if let Some((uid, gid)) = run_as {
                    std::os::unix::fs::chown(f, Some(uid), Some(gid))?;
                }
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&ca.server_key_pem, std::fs::Permissions::from_mode(0o600))?;
            pg.tls = Some(ca);
        }
        let out = pg
            .command("initdb")
            .args([
                "-U",
                "gridlink",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .args(["--no-sync", "-D"])
            .arg(pg.data())
            .output()?;
        if !out.status.success() {
            return Err(PostgresError::Failed(format!(
                "initdb: {}",
                tail(&String::from_utf8_lossy(&out.stderr), 20)
            )));
        }
        pg.restart()?;
        Ok(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, bin: &str) -> Command {
        let mut c = Command::new(Path::new(PG_BIN).join(bin));
        c.stdin(Stdio::null()).current_dir(self.dir.path());
        if let Some((uid, gid)) = self.run_as {
            c.uid(uid).gid(gid);
        }
        c
    }

    /// The URL of the `postgres` database (role `gridlink`, no password).
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of database `db`.
    pub fn url_of(&self, db: &str) -> String {
        format!("postgres://gridlink@127.0.0.1:{}/{db}", self.port)
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `psql` (`program`) as the admin role on this server's `postgres` database, stopping at the
    /// first error; the statements are added with `-qc`.
    fn psql(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "gridlink",
        ])
        .args(["-d", "postgres", "-v", "ON_ERROR_STOP=1"])
        .stdin(Stdio::null());
        c
    }

    /// Creates database `name` (a plain identifier) and returns its URL.
    pub fn create_db(&self, name: &str) -> Result<String, PostgresError> {
        let create = format!("CREATE DATABASE \"{name}\"");
        let out = self
            .psql(&Path::new(PG_BIN).join("psql"))
            .args(["-qc", &create])
            .output()
            // Debian puts psql in /usr/bin (a wrapper) too.
            .or_else(|_| self.psql(Path::new("psql")).args(["-qc", &create]).output())?;
        if !out.status.success() {
            return Err(PostgresError::Failed(format!(
                "CREATE DATABASE {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(self.url_of(name))
    }

    /// With TLS: role `role` (created here, with a database of its name
    /// that it owns) may log in only over TLS with a client certificate of
    /// the lab CA whose CN is `role` (`cert` authentication); everything
    /// else stays as it was. Restarts the server.
    pub fn require_client_cert(&mut self, role: &str) -> Result<(), PostgresError> {
        if self.tls.is_none() {
            return Err(PostgresError::Failed(
                "client certificates need start_tls()".into(),
            ));
        }
        let out = self
            .psql(&Path::new(PG_BIN).join("psql"))
            .arg("-qc")
            .arg(format!("CREATE ROLE \"{role}\" LOGIN"))
            .arg("-qc")
            .arg(format!("CREATE DATABASE \"{role}\" OWNER \"{role}\""))
            .env("PGSSLMODE", "disable")
            .output()?;
        if !out.status.success() {
            return Err(PostgresError::Failed(format!(
                "CREATE ROLE {role}: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        // First match wins: these lines come before initdb's `trust` ones.
        let hba = self.data().join("pg_hba.conf");
        let rest = std::fs::read_to_string(&hba)?;
        std::fs::write(
            &hba,
            format!(
                "hostssl all \"{role}\" 127.0.0.1/32 cert\n\
                 hostnossl all \"{role}\" 127.0.0.1/32 reject\n{rest}"
            ),
        )?;
        self.restart()
    }

    /// With TLS: a client certificate of the lab CA whose CN is `role`,
    /// and its key, written into `dir`.
    pub fn client_cert(&self, dir: &Path, role: &str) -> Result<super::ClientCert, PostgresError> {
        let ca = self
            .tls
            .as_ref()
            .ok_or_else(|| PostgresError::Failed("client certificates need start_tls()".into()))?;
        Ok(ca.client_cert(dir, role, role)?)
    }

    /// Starts the server (again), on the same port and data.
    pub fn restart(&mut self) -> Result<(), PostgresError> {
        self.stop();
        let log = std::fs::File::create(self.dir.path().join("postgres.log"))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(self.dir.path().join("postgres.log"), Some(uid), Some(gid))?;
        }
        // fsync off: these databases live for one test; the process (not
        // the machine) is what tests kill.
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "max_connections=200", "-c", "shared_buffers=64MB"])
            .args(self.tls.iter().flat_map(|ca| {
                [
                    "-c".to_owned(),
                    "ssl=on".to_owned(),
                    "-c".to_owned(),
                    format!("ssl_cert_file={}", ca.server_chain_pem.display()),
                    "-c".to_owned(),
                    format!("ssl_key_file={}", ca.server_key_pem.display()),
                    // Client certificates of the same CA are accepted
                    // (asked for, required only where `pg_hba` says `cert`).
                    "-c".to_owned(),
                    format!("ssl_ca_file={}", ca.ca_pem.display()),
                ]
            }))
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        wait_for_ports(
            &mut self.child,
            &[self.port],
            Duration::from_secs(30),
            Duration::from_millis(50),
            Duration::from_secs(5),
        )
        .map_err(|e| PostgresError::Failed(format!("{e}\n{}", self.log_tail())))?;
        // The port opens before the server accepts sessions ("the database
        // system is starting up"): wait for pg_isready too.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(Path::new(PG_BIN).join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .stdin(Stdio::null())
                .status()?;
            if ready.success() {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(PostgresError::Failed(format!(
                    "not ready after 30 s\n{}",
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (fast shutdown: SIGINT would be "fast" too; SIGTERM
    /// is "smart", which waits for clients, so it gets 5 s and then SIGKILL).
    pub fn stop(&mut self) {
        if let Some(c) = &self.child {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        }
        stop(&mut self.child, Duration::from_secs(5));
    }

    /// The end of the server's log.
    pub fn log_tail(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log"))
            .map(|s| tail(&s, 30))
            .unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The (uid, gid) of a system user, from /etc/passwd.
fn system_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&name) && f.len() > 3)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .flatten()
    })
}
