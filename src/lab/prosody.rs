//! A real Prosody 0.12 process, configured from scratch in a temp dir.
//!
//! Each instance gets free ports on 127.0.0.1, its own CA, `storage = "sql"`
//! on SQLite (Prosody's default file storage makes every persistent publish
//! cost O(items in the node)), a pubsub component whose admins may create
//! nodes (Prosody 0.12 lets only admins do that), and the accounts asked for.
//! The process is stopped when the value is dropped, also when a test fails.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::certs::TestCa;
use super::process::{self, free_port, tail, which};
use crate::config::Config;

/// How long a stopping Prosody gets before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What Prosody logs (`core/portmanager.lua`) when it cannot listen on a port.
const BIND_FAILED: &str = "Failed to open server port";

/// How Prosody stores data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// SQLite through `lua-dbi-sqlite3`: persistent, survives restarts.
    Sql,
    /// Pubsub nodes and items in memory (fastest, gone on restart);
    /// accounts on files.
    Memory,
}

/// What to set up.
#[derive(Debug, Clone)]
pub struct ProsodyOptions {
    /// Accounts on `localhost` as (user, password).
    pub users: Vec<(String, String)>,
    /// Users (on `localhost`) who administer the pubsub service (may create nodes).
    pub pubsub_admins: Vec<String>,
    /// Storage backend.
    pub storage: Storage,
    /// `pubsub_max_items`: how many items a node may keep.
    pub max_items: u32,
    /// Prosody's log level (`debug` logs every stanza, which the tests read).
    pub log_level: &'static str,
    /// Runs Prosody in a process group of its own, out of reach of a
    /// terminal's Ctrl-C (which goes to the whole foreground group), so
    /// that the owner can close its sessions before it stops Prosody. Only
    /// for owners that handle SIGINT and then drop the [`Prosody`] (the
    /// lab): a program that dies of the signal (a test run) would leave
    /// Prosody running.
    pub own_process_group: bool,
    /// Adds the host [`CERTS_DOMAIN`], whose accounts log in with SASL
    /// EXTERNAL and a client certificate of the lab CA naming them in its
    /// `id-on-xmppAddr` (no accounts, no passwords: community module
    /// `mod_auth_ccert`, Debian package `prosody-modules`). Clients are
    /// then asked for a certificate on every c2s connection; one that sends
    /// none logs in with its password as before.
    pub client_cert_host: bool,
    /// Offers PLAIN as the only password mechanism (no SCRAM): a server as
    /// some deployments run it, where the password itself crosses the
    /// (TLS-protected) stream; the secrets-in-logs tests need one.
    pub plain_only: bool,
    /// Further global settings, one Lua line each (`name = value`), added
    /// after the lab's own: how the benchmark harness (`--prosody-option`)
    /// measures a broker setting.
    pub extra_config: Vec<String>,
}

/// The host of [`ProsodyOptions::client_cert_host`].
pub const CERTS_DOMAIN: &str = "certs.localhost";

/// Where Debian's `prosody-modules` puts `mod_auth_ccert`.
const MOD_AUTH_CCERT: &str = "/usr/lib/prosody/modules/mod_auth_ccert/mod_auth_ccert.lua";

impl Default for ProsodyOptions {
    fn default() -> Self {
        ProsodyOptions {
            users: vec![
                ("publisher".into(), "publisher-pw".into()),
                ("subscriber".into(), "subscriber-pw".into()),
            ],
            pubsub_admins: vec!["publisher".into()],
            storage: Storage::Sql,
            max_items: 10_000,
            log_level: "debug",
            own_process_group: false,
            client_cert_host: false,
            plain_only: false,
            extra_config: Vec::new(),
        }
    }
}

/// Lab failures, each saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The `prosody` binary is not on PATH.
    #[error("the `prosody` binary was not found on PATH: install it with `sudo apt-get install -y prosody lua-dbi-sqlite3` (`bash .ci/run` does this)")]
    NotInstalled,
    /// Prosody did not come up.
    #[error("Prosody did not start: {0}")]
    StartFailed(String),
    /// `mod_auth_ccert` (for [`ProsodyOptions::client_cert_host`]) is missing.
    #[error("Prosody's mod_auth_ccert was not found at {MOD_AUTH_CCERT}: install it with `sudo apt-get install -y prosody-modules` (`bash .ci/run` does this)")]
    NoCertAuthModule,
    /// ejabberd (its Erlang application, or `erl`) is not installed.
    #[error("ejabberd was not found (no `erl` on PATH or no ejabberd application under /usr/lib/*/ejabberd-*): install it with `sudo apt-get install -y ejabberd` (`scripts/deps` does this)")]
    EjabberdNotInstalled,
    /// ejabberd's SQLite driver is missing.
    #[error("ejabberd's SQLite driver (p1_sqlite3) was not found: install it with `sudo apt-get install -y erlang-p1-sqlite3` (`scripts/deps` does this)")]
    EjabberdNoSqlite,
    /// ejabberd did not come up, or a command on it failed.
    #[error("ejabberd: {0}")]
    Ejabberd(String),
    /// A file or process operation failed.
    #[error("lab I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A running Prosody. Dropping it stops the process.
pub struct Prosody {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The XMPP domain (`localhost`).
    pub domain: String,
    /// The pubsub service JID (`pubsub.localhost`).
    pub pubsub: String,
    /// STARTTLS client port.
    pub c2s_port: u16,
    /// Direct TLS client port (XEP-0368).
    pub direct_tls_port: u16,
    /// The generated certificates.
    pub ca: TestCa,
    /// [`ProsodyOptions::own_process_group`].
    own_process_group: bool,
}

impl std::fmt::Debug for Prosody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prosody")
            .field("dir", &self.dir.path())
            .field("c2s_port", &self.c2s_port)
            .finish()
    }
}

impl Prosody {
    /// Configures and starts a fresh instance; returns once it accepts connections.
    pub fn start(opts: ProsodyOptions) -> Result<Prosody, LabError> {
        if which("prosody").is_none() || which("prosodyctl").is_none() {
            return Err(LabError::NotInstalled);
        }
        if opts.client_cert_host && !Path::new(MOD_AUTH_CCERT).is_file() {
            return Err(LabError::NoCertAuthModule);
        }
        let dir = tempfile::Builder::new()
            .prefix("gridlink-prosody-")
            .tempdir()?;
        std::fs::create_dir_all(dir.path().join("data"))?;
        let ca = TestCa::generate(
            dir.path(),
            &[
                "localhost",
                "pubsub.localhost",
                "insecure.localhost",
                CERTS_DOMAIN,
            ],
        )?;
        let mut p = Prosody {
            dir,
            child: None,
            domain: "localhost".into(),
            pubsub: "pubsub.localhost".into(),
            c2s_port: free_port()?,
            direct_tls_port: free_port()?,
            ca,
            own_process_group: opts.own_process_group,
        };
        p.write_config(&opts)?;
        p.register(&opts.users)?;
        p.spawn()?;
        Ok(p)
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("prosody.cfg.lua")
    }

    /// The directory holding config, data and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The debug log (every stanza and SASL step when `log_level` is debug).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prosody.log")).unwrap_or_default()
    }

    fn write_config(&self, opts: &ProsodyOptions) -> Result<(), LabError> {
        let d = self.dir.path().display();
        let storage = match opts.storage {
            Storage::Sql => {
                "storage = \"sql\"\nsql = { driver = \"SQLite3\", database = \"prosody.sqlite\" }"
                    .to_string()
            }
            // Accounts stay on files: `prosodyctl register` runs in its own
            // process, so accounts made in memory would be gone.
            // mod_storage_memory refuses an archive's 1001st item
            // ("quota-limit") unless told otherwise: the node's own cap rules.
            Storage::Memory => format!(
                "default_storage = \"internal\"\nstorage = {{ pubsub_nodes = \"memory\"; pubsub_data = \"memory\" }}\nstorage_archive_item_limit = {}",
                opts.max_items
            ),
        };
        let admins = opts
            .pubsub_admins
            .iter()
            .map(|u| format!("\"{u}@localhost\""))
            .collect::<Vec<_>>()
            .join(", ");
        // SASL EXTERNAL: the server asks every c2s client for a certificate
        // (`peer`; `client_once`: not again on renegotiation) and checks it
        // against the lab CA only (`capath = false`: not the system's).
        // Prosody's default `verifyext` (`lsec_continue`) goes on past a
        // failed check, so a bad certificate fails the login with an error
        // rather than the handshake.
        let (client_verify, certs_host) = if opts.client_cert_host {
            (
                format!(
                    "verify = {{ \"peer\"; \"client_once\" }}; cafile = \"{}\"; capath = false;",
                    self.ca.ca_pem.display()
                ),
                format!(
                    "-- Accounts are whoever the lab CA issued a client certificate to.\nVirtualHost \"{CERTS_DOMAIN}\"\n  authentication = \"ccert\"\n  certificate_match = \"xmppaddr\"\n"
                ),
            )
        } else {
            (String::new(), String::new())
        };
        let cfg = format!(
            r#"-- gridlink lab: a throwaway Prosody on loopback; everything lives in {d}.
run_as_root = true
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{
  {{ levels = {{ min = "{level}" }}, to = "file", filename = "{d}/prosody.log" }};
  {{ levels = {{ min = "error" }}, to = "console" }};
}}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s} }}
c2s_direct_tls_ports = {{ {dtls} }}
s2s_ports = {{ }}
component_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "smacks"; "posix"; }}
modules_disabled = {{ "s2s"; "offline"; }}
authentication = "internal_hashed"
-- SQL storage: Prosody's default file storage makes every persistent
-- publish cost O(items already in the node).
{storage}
ssl = {{ certificate = "{chain}"; key = "{key}"; }}
c2s_ssl = {{ {client_verify} }}
c2s_direct_tls_ssl = {{ certificate = "{chain}"; key = "{key}"; {client_verify} }}
c2s_require_encryption = true
allow_unencrypted_plain_auth = false
{sasl_mechanisms}smacks_hibernation_time = 120
{extra}

VirtualHost "localhost"

-- A host without any TLS (no STARTTLS offered or accepted): what
-- --insecure-plaintext is for, and what gridlink must refuse without it.
VirtualHost "insecure.localhost"
  c2s_require_encryption = false
  modules_disabled = {{ "tls" }}

{certs_host}
Component "pubsub.localhost" "pubsub"
  admins = {{ {admins} }}  -- Prosody 0.12: only service admins may create nodes
  pubsub_max_items = {max_items}
"#,
            level = opts.log_level,
            sasl_mechanisms = if opts.plain_only {
                "disable_sasl_mechanisms = { \"SCRAM-SHA-1\", \"SCRAM-SHA-1-PLUS\", \"SCRAM-SHA-256\", \"SCRAM-SHA-256-PLUS\" }\n"
            } else {
                ""
            },
            c2s = self.c2s_port,
            dtls = self.direct_tls_port,
            chain = self.ca.server_chain_pem.display(),
            key = self.ca.server_key_pem.display(),
            max_items = opts.max_items,
            extra = opts.extra_config.join("\n"),
        );
        std::fs::write(self.config_path(), cfg)?;
        Ok(())
    }

    /// Creates accounts (works whether or not the server runs).
    pub fn register(&self, users: &[(String, String)]) -> Result<(), LabError> {
        for (user, pw) in users {
            for host in ["localhost", "insecure.localhost"] {
                self.prosodyctl(
                    &["register", user, host, pw],
                    &format!("register {user}@{host}"),
                )?;
            }
        }
        Ok(())
    }

    /// Deletes the account `user@localhost` (as an administrator would;
    /// sessions already open stay open until they reconnect).
    pub fn delete_user(&self, user: &str) -> Result<(), LabError> {
        let jid = format!("{user}@{}", self.domain);
        self.prosodyctl(&["deluser", &jid], &format!("deluser {jid}"))
    }

    /// Runs `prosodyctl` on this instance's config; `what` names it in the
    /// error (never the arguments: they may hold a password).
    fn prosodyctl(&self, args: &[&str], what: &str) -> Result<(), LabError> {
        let out = Command::new("prosodyctl")
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .output()?;
        if !out.status.success() {
            return Err(LabError::StartFailed(format!(
                "prosodyctl {what}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    fn spawn(&mut self) -> Result<(), LabError> {
        let console = std::fs::File::create(self.dir.path().join("console.log"))?;
        let mut command = Command::new("prosody");
        if self.own_process_group {
            // In the owner's group a terminal's Ctrl-C would stop Prosody at
            // the same moment as the owner, which would then see every
            // session drop and retry until it got to stopping Prosody
            // itself; the owner stops it (`stop`, on drop) after closing
            // its sessions instead.
            command.process_group(0);
        }
        let child = command
            .arg("-F")
            .arg("--config")
            .arg(self.config_path())
            .stdin(Stdio::null())
            .stdout(console.try_clone()?)
            .stderr(console)
            .spawn()?;
        self.child = Some(child);
        process::wait_for_ports(
            &mut self.child,
            &[self.c2s_port, self.direct_tls_port],
            Duration::from_secs(20),
            Duration::from_millis(50),
            STOP_GRACE,
        )
        .map_err(|why| {
            LabError::StartFailed(format!(
                "{why}: {}{}",
                std::fs::read_to_string(self.dir.path().join("console.log")).unwrap_or_default(),
                tail(&self.log(), 20)
            ))
        })?;
        // Prosody keeps running when it cannot bind a port, and the port
        // then answers for whoever holds it: refuse to start rather than
        // let clients reach another program.
        if let Some(line) = self.log().lines().find(|l| l.contains(BIND_FAILED)) {
            self.stop();
            return Err(LabError::StartFailed(format!(
                "a port of this lab is taken by another program: {line}"
            )));
        }
        Ok(())
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Stops the server gracefully (SIGTERM, then SIGKILL after 5 s).
    pub fn stop(&mut self) {
        process::stop(&mut self.child, STOP_GRACE);
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same ports with the same data.
    pub fn start_again(&mut self) -> Result<(), LabError> {
        self.stop();
        self.spawn()
    }

    /// A client configuration for `user` on `localhost` over STARTTLS,
    /// trusting the lab CA; state under the lab dir.
    pub fn client_config(&self, user: &str, password: &str) -> Config {
        process::client_config(
            &self.domain,
            self.c2s_port,
            &self.ca.ca_pem,
            self.dir.path(),
            user,
            password,
        )
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        self.stop();
    }
}
