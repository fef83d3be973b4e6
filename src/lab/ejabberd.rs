//! A real ejabberd (Debian's 23.01), configured from scratch in a temp dir:
//! gridlink's second broker, next to [`Prosody`](super::Prosody).
//!
//! Each instance gets free ports on 127.0.0.1, its own CA, a pubsub service
//! `pubsub.localhost` whose admins may create nodes, SCRAM-hashed accounts,
//! and mnesia (ejabberd's default) or SQLite storage (the backend on which
//! ejabberd pages items with RSM). The process is stopped when the value is
//! dropped, also when a test fails.
//!
//! ejabberd is an Erlang node, and `ejabberdctl` (the usual way to start one
//! and to register accounts) wants the system's config dir, switches to the
//! `ejabberd` user and kills a shared `epmd`. So `erl` is run directly, the
//! way `ejabberdctl foreground` would, but without epmd at all: the node
//! listens for Erlang distribution on a free port of its own
//! (`-erl_epmd_port`, `-start_epmd false`), and the control client that
//! registers accounts is told that port. Distinct node names, that port and
//! a cookie in the temp dir (`$HOME/.erlang.cookie`, `HOME` = the temp dir)
//! let several instances run side by side and leave nothing behind.
//!
//! A member of a cluster ([`EjabberdCluster`](super::EjabberdCluster)) is
//! started the same way, but with a long node name on 127.0.0.1, the
//! cluster's cookie and CA, and the cluster's own epmd instead of a port of
//! its own (Erlang's epmd-less mode assumes every node listens on the same
//! port, which two nodes on one address cannot).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::certs::TestCa;
use super::process::{self, find_erl_libs, find_lib, free_port, random_token, tail, which};
use super::prosody::LabError;
use crate::config::Config;

/// How long a stopping ejabberd gets before SIGKILL (SIGTERM makes the
/// Erlang VM run `init:stop()`, which takes longer than Prosody's exit).
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How ejabberd stores data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EjabberdStorage {
    /// mnesia, as ejabberd ships.
    Mnesia,
    /// SQLite (`default_db: sql`; Debian package `erlang-p1-sqlite3`).
    Sqlite,
}

/// What to set up.
#[derive(Debug, Clone)]
pub struct EjabberdOptions {
    /// Accounts on `localhost` as (user, password).
    pub users: Vec<(String, String)>,
    /// Users (on `localhost`) who may create pubsub nodes.
    pub pubsub_admins: Vec<String>,
    /// Storage backend.
    pub storage: EjabberdStorage,
    /// `mod_pubsub`'s `max_items_node`: how many items a node may keep.
    pub max_items: u32,
    /// ejabberd's `loglevel` (`debug` logs every stanza).
    pub log_level: &'static str,
    /// `tls_verify` on both client listeners: ejabberd asks for a client
    /// certificate, checks it against the lab CA, and offers SASL EXTERNAL
    /// beside SCRAM (a client without a certificate still logs in).
    pub tls_verify: bool,
}

impl Default for EjabberdOptions {
    fn default() -> Self {
        EjabberdOptions {
            users: vec![
                ("publisher".into(), "publisher-pw".into()),
                ("subscriber".into(), "subscriber-pw".into()),
            ],
            pubsub_admins: vec!["publisher".into()],
            storage: EjabberdStorage::Mnesia,
            max_items: 10_000,
            log_level: "info",
            tls_verify: false,
        }
    }
}

/// A running ejabberd. Dropping it stops the process.
pub struct Ejabberd {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The Erlang libraries dir that holds ejabberd (`ERL_LIBS`).
    erl_libs: PathBuf,
    /// The Erlang node name (`gridlink-…@localhost`, or `gl1@127.0.0.1` in
    /// a cluster).
    node: String,
    /// How Erlang nodes find this one.
    dist: Distribution,
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
}

impl std::fmt::Debug for Ejabberd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ejabberd")
            .field("dir", &self.dir.path())
            .field("node", &self.node)
            .field("c2s_port", &self.c2s_port)
            .finish()
    }
}

/// How the node's Erlang distribution is found.
#[derive(Debug, Clone, Copy)]
enum Distribution {
    /// A port of its own, no epmd (`-erl_epmd_port`): a lone node.
    OwnPort(u16),
    /// Registered with the epmd on this port (`ERL_EPMD_PORT`): a cluster
    /// member.
    Epmd(u16),
}

/// What a cluster member shares with the others (see `ejabberd_cluster.rs`).
pub(super) struct Member {
    /// The long node name, e.g. `gl1@127.0.0.1`.
    pub name: String,
    /// The cluster's epmd.
    pub epmd_port: u16,
    /// The cluster's Erlang cookie.
    pub cookie: String,
    /// The cluster's CA and server certificate (every node serves the same
    /// domain).
    pub ca: TestCa,
}

/// Tells the control-client node names of one process apart.
static CTL_SEQ: AtomicU32 = AtomicU32::new(0);

impl Ejabberd {
    /// Configures and starts a fresh instance; returns once it accepts
    /// connections and the accounts exist.
    pub fn start(opts: EjabberdOptions) -> Result<Ejabberd, LabError> {
        let e = Self::launch(&opts, None)?;
        e.wait_running()?;
        e.register(&opts.users)?;
        Ok(e)
    }

    /// Configures and starts an instance, alone or as a cluster `member`
    /// (which does not join yet and has no accounts of its own: the
    /// cluster registers them once, in the replicated tables).
    pub(super) fn launch(
        opts: &EjabberdOptions,
        member: Option<Member>,
    ) -> Result<Ejabberd, LabError> {
        let erl_libs = find_erl_libs().ok_or(LabError::EjabberdNotInstalled)?;
        if which("erl").is_none() {
            return Err(LabError::EjabberdNotInstalled);
        }
        if opts.storage == EjabberdStorage::Sqlite
            && find_lib("/usr/lib/erlang/lib", "p1_sqlite3-").is_none()
        {
            return Err(LabError::EjabberdNoSqlite);
        }
        let dir = tempfile::Builder::new()
            .prefix("gridlink-ejabberd-")
            .tempdir()?;
        for sub in ["spool", "logs"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        let (ca, cookie, node, dist) = match member {
            Some(m) => (m.ca, m.cookie, m.name, Distribution::Epmd(m.epmd_port)),
            None => (
                TestCa::generate_short_lived(dir.path(), &["localhost", "pubsub.localhost"])?,
                random_token(),
                format!("gridlink-{}@localhost", random_token().to_lowercase()),
                Distribution::OwnPort(free_port()?),
            ),
        };
        // The Erlang cookie: only nodes that know it may talk to this one.
        let cookie_path = dir.path().join(".erlang.cookie");
        std::fs::write(&cookie_path, cookie)?;
        std::fs::set_permissions(&cookie_path, std::fs::Permissions::from_mode(0o400))?;
        let mut e = Ejabberd {
            dir,
            child: None,
            erl_libs,
            node,
            dist,
            domain: "localhost".into(),
            pubsub: "pubsub.localhost".into(),
            c2s_port: free_port()?,
            direct_tls_port: free_port()?,
            ca,
        };
        e.write_config(opts)?;
        e.spawn()?;
        Ok(e)
    }

    /// The Erlang node name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// `-sname` for a short name (`…@localhost`), `-name` for a long one
    /// (`…@127.0.0.1`); the node's control clients must use the same kind.
    fn name_flag(&self) -> (&'static str, &str) {
        match self.node.split_once('@') {
            Some((_, host)) if host.contains('.') => ("-name", host),
            Some((_, host)) => ("-sname", host),
            None => ("-sname", "localhost"),
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("ejabberd.yml")
    }

    /// The directory holding config, database and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// ejabberd's log (logins with their SASL mechanism at `info`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("logs/ejabberd.log")).unwrap_or_default()
    }

    fn write_config(&self, opts: &EjabberdOptions) -> Result<(), LabError> {
        let d = self.dir.path().display();
        let storage = match opts.storage {
            EjabberdStorage::Mnesia => String::new(),
            // ejabberd creates the SQLite file from its lite.sql on first start.
            EjabberdStorage::Sqlite => {
                format!("default_db: sql\nsql_type: sqlite\nsql_database: \"{d}/ejabberd.db\"\n")
            }
        };
        let admins = opts
            .pubsub_admins
            .iter()
            .map(|u| format!("\"{u}@localhost\""))
            .collect::<Vec<_>>()
            .join(", ");
        let cfg = format!(
            r#"# gridlink lab: a throwaway ejabberd on loopback; everything lives in {d}.
hosts: [localhost]
loglevel: {level}
log_rotate_count: 0
certfiles: ["{chain}", "{key}"]
ca_file: "{ca}"
listen:
  - port: {c2s}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: true
    max_stanza_size: 262144{verify}
  - port: {dtls}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    tls: true
    max_stanza_size: 262144{verify}
# Passwords stored as SCRAM-SHA-256 hashes: the server can then offer SCRAM
# (and PLAIN, which gridlink must not pick).
auth_method: internal
auth_password_format: scram
auth_scram_hash: sha256
{storage}acl:
  pubsub_admin:
    user: [{admins}]
access_rules:
  pubsub_createnode:
    allow: pubsub_admin
modules:
  mod_disco: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
  mod_stream_mgmt: {{}}
  mod_pubsub:
    access_createnode: pubsub_createnode
    plugins: [flat]
    max_items_node: {max_items}
"#,
            level = opts.log_level,
            chain = self.ca.server_chain_pem.display(),
            key = self.ca.server_key_pem.display(),
            ca = self.ca.ca_pem.display(),
            c2s = self.c2s_port,
            dtls = self.direct_tls_port,
            max_items = opts.max_items,
            // fast_tls checks client certificates against the listener's
            // own `cafile`, not the global `ca_file`.
            verify = if opts.tls_verify {
                format!(
                    "\n    tls_verify: true\n    cafile: \"{}\"",
                    self.ca.ca_pem.display()
                )
            } else {
                String::new()
            },
        );
        std::fs::write(self.config_path(), cfg)?;
        Ok(())
    }

    /// `erl` with the environment every node of this instance shares.
    fn erl(&self) -> Command {
        let mut c = Command::new("erl");
        c.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env_remove("XDG_CONFIG_HOME")
            .env("ERL_LIBS", &self.erl_libs)
            .env(
                "ERL_CRASH_DUMP",
                self.dir.path().join("logs/erl_crash.dump"),
            )
            .env("ERL_CRASH_DUMP_BYTES", "0")
            .args(["-noinput", "-start_epmd", "false"])
            .stdin(Stdio::null());
        match self.dist {
            Distribution::OwnPort(port) => {
                c.arg("-erl_epmd_port").arg(port.to_string());
            }
            Distribution::Epmd(port) => {
                c.env("ERL_EPMD_PORT", port.to_string());
            }
        }
        c
    }

    fn spawn(&mut self) -> Result<(), LabError> {
        let console = std::fs::File::create(self.dir.path().join("console.log"))?;
        let mnesia_dir = format!("\"{}\"", self.dir.path().join("spool").display());
        let child = self
            .erl()
            .env("EJABBERD_CONFIG_PATH", self.config_path())
            .env(
                "EJABBERD_LOG_PATH",
                self.dir.path().join("logs/ejabberd.log"),
            )
            .args([self.name_flag().0, &self.node])
            .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
            .args(["-mnesia", "dir", &mnesia_dir])
            .args(["-s", "ejabberd"])
            .stdout(console.try_clone()?)
            .stderr(console)
            .spawn()?;
        self.child = Some(child);
        // ejabberd opens its listeners last, once modules and storage are up.
        process::wait_for_ports(
            &mut self.child,
            &[self.c2s_port, self.direct_tls_port],
            Duration::from_secs(60),
            Duration::from_millis(100),
            STOP_GRACE,
        )
        .map_err(|why| {
            LabError::Ejabberd(format!("{why}; log tail:\n{}", tail(&self.console(), 30)))
        })
    }

    fn console(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("console.log")).unwrap_or_default()
    }

    /// Runs an `ejabberdctl` command (`args`) on the running node, through
    /// a hidden Erlang node that does not listen (what `ejabberdctl` does
    /// with `ERL_DIST_PORT` set).
    pub fn ctl(&self, args: &[&str]) -> Result<String, LabError> {
        let out = self.ctl_command(args).output()?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // ejabberd_ctl's exit status is not always an error's: an
        // exception inside the command still exits 0 (or 1 for "failed"),
        // so its text says it too.
        if !out.status.success() || text.contains("exception") {
            return Err(LabError::Ejabberd(format!(
                "ejabberdctl {}: {text}",
                args.join(" ")
            )));
        }
        Ok(text)
    }

    /// The command [`Ejabberd::ctl`] runs, for a caller that bounds the
    /// wait itself (`ejabberd_ctl` gives up after 60 s, unless the first
    /// argument is `--no-timeout`).
    pub(super) fn ctl_command(&self, args: &[&str]) -> Command {
        let (flag, host) = self.name_flag();
        let name = format!(
            "ctl-{}-{}@{host}",
            std::process::id(),
            CTL_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = self.erl();
        c.args([flag, &name, "-hidden", "-dist_listen", "false"])
            .args(["-s", "ejabberd_ctl", "-extra", &self.node])
            .args(args);
        c
    }

    /// Waits until ejabberd's application has started (`ejabberdctl
    /// status`). Its listeners open while its modules still create their
    /// tables and caches: a `register` then fails inside ejabberd
    /// (`ets_cache:get_counter/1`, seen in CI), and a cluster join stops
    /// mnesia mid-transaction (the join then waits for tables forever).
    pub(super) fn wait_running(&self) -> Result<(), LabError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = self.ctl(&["status"]).unwrap_or_default();
            if status.contains("is running in that node") && !status.contains("not running") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(LabError::Ejabberd(format!(
                    "{} did not finish starting: {status}\nlog tail:\n{}",
                    self.node(),
                    tail(&self.log(), 30)
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Creates accounts on `localhost` (the server must run).
    pub fn register(&self, users: &[(String, String)]) -> Result<(), LabError> {
        for (user, pw) in users {
            // Listeners can open before mnesia has the `passwd` table
            // (`{aborted,{no_exists,passwd,…}}`): try again for a while.
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match self.ctl(&["register", user, "localhost", pw]) {
                    Ok(_) => break,
                    Err(LabError::Ejabberd(m))
                        if m.contains("no_exists") && Instant::now() < deadline =>
                    {
                        std::thread::sleep(Duration::from_millis(250));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Whether both client ports accept a connection now.
    pub fn accepts_clients(&self) -> bool {
        [self.c2s_port, self.direct_tls_port]
            .iter()
            .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Kills the server with SIGKILL, as a crash would (no `init:stop()`,
    /// no goodbye to the other cluster nodes: they see the connection drop).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the server gracefully (SIGTERM: the Erlang VM runs
    /// `init:stop()`), then SIGKILL after 10 s. A lone node started no
    /// epmd, so nothing else is left (a cluster stops its own epmd).
    pub fn stop(&mut self) {
        process::stop(&mut self.child, STOP_GRACE);
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

impl Drop for Ejabberd {
    fn drop(&mut self) {
        self.stop();
    }
}
