//! What the lab's brokers have in common as processes: finding the binary,
//! waiting for the listeners, stopping (SIGTERM, then SIGKILL), reading the
//! end of a log, and the client configuration for a lab account. Each broker
//! keeps what is its own (config files, accounts, how it is started).

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::config::{Config, Secret, TlsMode};

/// Waits until every one of `ports` on 127.0.0.1 accepts a connection,
/// checking every `poll` for at most `limit`; stops the process (`grace`
/// for SIGTERM) when the time runs out. The error says which happened
/// (the process exited first, or the ports stayed closed); the caller adds
/// the log.
pub(super) fn wait_for_ports(
    child: &mut Option<Child>,
    ports: &[u16],
    limit: Duration,
    poll: Duration,
    grace: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let up = ports
            .iter()
            .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok());
        if up {
            return Ok(());
        }
        if let Some(c) = child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                *child = None;
                return Err(format!("exited with {status}"));
            }
        }
        if Instant::now() > deadline {
            stop(child, grace);
            let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
            return Err(format!(
                "ports {} not open after {} s",
                ports.join(" / "),
                limit.as_secs()
            ));
        }
        std::thread::sleep(poll);
    }
}

/// Stops the process gracefully: SIGTERM, then SIGKILL after `grace`.
pub(super) fn stop(child: &mut Option<Child>, grace: Duration) {
    if let Some(mut c) = child.take() {
        let pid = nix::unistd::Pid::from_raw(c.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// A client configuration for `user@domain` over STARTTLS to 127.0.0.1:`port`,
/// trusting the lab CA `ca_pem`; its state under `dir`.
pub(super) fn client_config(
    domain: &str,
    port: u16,
    ca_pem: &Path,
    dir: &Path,
    user: &str,
    password: &str,
) -> Config {
    let jid = format!("{user}@{domain}");
    // The lab builds these JIDs itself, so they always parse.
    let jid = jid
        .parse()
        .unwrap_or_else(|_| unreachable!("lab JID {jid}"));
    let mut c = Config::new(jid, Secret::new(password));
    c.server = Some(("127.0.0.1".into(), port));
    c.ca_file = Some(ca_pem.to_path_buf());
    c.tls_mode = TlsMode::StartTls;
    c.state_dir = dir.join(format!("state-{user}"));
    c
}

/// The last `n` lines of `s`.
pub(super) fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `bin` on `PATH`.
pub(super) fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// The `ERL_LIBS` dir holding ejabberd's application: Debian puts it in
/// `/usr/lib/<triplet>/ejabberd-<version>` (not under Erlang's own lib dir).
pub(super) fn find_erl_libs() -> Option<PathBuf> {
    let mut roots: Vec<PathBuf> = std::fs::read_dir("/usr/lib")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    roots.push(PathBuf::from("/usr/lib/erlang/lib"));
    roots.into_iter().find(|root| {
        find_lib(root, "ejabberd-").is_some_and(|app| app.join("ebin/ejabberd.app").is_file())
    })
}

/// The first entry of `root` whose name starts with `prefix`.
pub(super) fn find_lib(root: impl AsRef<Path>, prefix: &str) -> Option<PathBuf> {
    std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
}

/// Finds a free TCP port on 127.0.0.1 (bind to port 0, read, release).
pub fn free_port() -> std::io::Result<u16> {
    // The port is free when it is read, not when the server binds it; the
    // kernel may hand the same port to the next caller in between. Tests
    // in one binary run in parallel threads, and two labs given one port
    // made a client reach the other lab's Prosody (same CA name, another
    // key: "BadSignature"). So no port is handed out twice in a process.
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    for _ in 0..256 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.insert(port) {
            return Ok(port);
        }
    }
    Err(std::io::Error::other(
        "no free port left that this process has not handed out already",
    ))
}

/// 16 random alphanumerics (cookie, node name).
pub(super) fn random_token() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 16)
}

#[cfg(test)]
mod port_tests {
    use super::free_port;

    /// The kernel hands out recently freed ports again; this process never
    /// gets one twice (2 000 asks: without the record, repeats are all but
    /// certain in Linux's ~28 000 ephemeral ports).
    #[test]
    fn no_port_is_handed_out_twice() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2_000 {
            let port = free_port().expect("a free port");
            assert!(seen.insert(port), "port {port} handed out twice");
        }
    }
}
