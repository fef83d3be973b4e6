//! `gridlink` commands: the binaries cargo built for these tests, bare (for
//! tests of their own flag and environment handling) or logged in to a lab
//! broker. The one place where tests build a `gridlink` command line.
//!
//! The logged-in builders clear the environment (only PATH is kept, so the
//! developer's own GRIDLINK_* settings never leak in) and pass the password
//! through GRIDLINK_PASSWORD, as the README recommends.

use std::path::Path;
use std::process::{Command, Stdio};

use gridlink::lab::{Ejabberd, Prosody};

/// The `gridlink` binary's path.
pub const GRIDLINK_BIN: &str = env!("CARGO_BIN_EXE_gridlink");

/// `gridlink` with nothing set.
pub fn gridlink_bare() -> Command {
    Command::new(GRIDLINK_BIN)
}

/// [`gridlink_bare`] as tokio's command, for async tests (the caller
/// decides on `kill_on_drop`).
pub fn gridlink_bare_async() -> tokio::process::Command {
    tokio::process::Command::new(GRIDLINK_BIN)
}

/// `gridlink-lab` with nothing set.
pub fn gridlink_lab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gridlink-lab"))
}

/// `gridlink-bench` with nothing set.
pub fn gridlink_bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gridlink-bench"))
}

/// `gridlink` logged in as `jid` with `password` to `server` (host:port),
/// trusting `ca`; nothing inherited but PATH.
pub fn gridlink_login(jid: &str, password: &str, server: &str, ca: &Path) -> Command {
    let mut c = gridlink_bare();
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GRIDLINK_PASSWORD", password)
        .args(["--jid", jid])
        .args(["--server", server])
        .arg("--ca-file")
        .arg(ca);
    c
}

/// [`gridlink_login`] as lab user `user` (`user@localhost`) on
/// 127.0.0.1:`port`, its state (cursors, outboxes, bridge stores) in `state`.
pub fn gridlink_at(port: u16, ca: &Path, user: &str, password: &str, state: &Path) -> Command {
    let mut c = gridlink_login(
        &format!("{user}@localhost"),
        password,
        &format!("127.0.0.1:{port}"),
        ca,
    );
    c.env("GRIDLINK_STATE_DIR", state);
    c
}

/// `gridlink` as lab user `user` on Prosody `p`, stdin closed. Its state
/// lives with this Prosody, never in $HOME (where parallel tests and earlier
/// runs would share it).
pub fn gridlink(p: &Prosody, user: &str, password: &str) -> Command {
    let mut c = gridlink_at(
        p.c2s_port,
        &p.ca.ca_pem,
        user,
        password,
        &p.dir().join("state"),
    );
    c.stdin(Stdio::null());
    c
}

/// [`gridlink`] as tokio's command, killed when dropped.
pub fn gridlink_async(p: &Prosody, user: &str, password: &str) -> tokio::process::Command {
    let mut c = tokio::process::Command::from(gridlink(p, user, password));
    c.kill_on_drop(true);
    c
}

/// `gridlink` as `jid` (any host of the lab, e.g. `insecure.localhost`) on
/// Prosody `p`'s client port, state with `p`; tokio's command, killed when
/// dropped.
pub fn gridlink_as_async(p: &Prosody, jid: &str, password: &str) -> tokio::process::Command {
    let mut c = gridlink_login(
        jid,
        password,
        &format!("127.0.0.1:{}", p.c2s_port),
        &p.ca.ca_pem,
    );
    c.env("GRIDLINK_STATE_DIR", p.dir().join("state"));
    let mut c = tokio::process::Command::from(c);
    c.kill_on_drop(true);
    c
}

/// `gridlink` as lab user `user` against any `server`, trusting `ca`, no
/// state dir: for tests of what it will connect to. Tokio's command, killed
/// when dropped.
pub fn gridlink_to_async(
    user: &str,
    password: &str,
    server: &str,
    ca: &Path,
) -> tokio::process::Command {
    let mut c = tokio::process::Command::from(gridlink_login(
        &format!("{user}@localhost"),
        password,
        server,
        ca,
    ));
    c.kill_on_drop(true);
    c
}

/// `gridlink -v` as lab user `user` (password `<user>-pw`) through `port`
/// (Prosody `p`'s or a proxy's in front of it), its state in `state`, stdin
/// closed: the processes of the fault tests.
pub fn gridlink_via(p: &Prosody, port: u16, user: &str, state: &Path) -> Command {
    let mut c = gridlink_at(port, &p.ca.ca_pem, user, &format!("{user}-pw"), state);
    c.arg("-v").stdin(Stdio::null());
    c
}

/// `gridlink` as lab user `user` (password `<user>-pw`) on ejabberd `e`
/// (STARTTLS, the lab CA), its state in `state`.
pub fn gridlink_on_ejabberd(e: &Ejabberd, user: &str, state: &Path) -> Command {
    gridlink_at(e.c2s_port, &e.ca.ca_pem, user, &format!("{user}-pw"), state)
}
