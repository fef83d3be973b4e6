//! The long-running commands stop in order on SIGTERM (what `docker stop`, systemd and Kubernetes
//! send) as on Ctrl-C, and a SIGINT sent the moment they say they are ready is never lost — even
//! when the parent set SIGINT to "ignore", as a non-interactive shell does for its background jobs
//! (before `cli/shutdown.rs`, such a `gridlink bridge` ran on for ever and hung the test that
//! interrupted it).

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Starts `c` with SIGINT ignored (inherited, as from a background job), waits for `ready` on its
/// stderr, sends `sig` at once, and returns how it ended and everything it wrote on stderr.
fn stop_at_ready(mut c: Command, ready: &str, sig: Signal) -> (std::process::ExitStatus, String) {
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    // SAFETY: between fork and exec only async-signal-safe calls: sigaction.
    unsafe {
        c.pre_exec(|| {
            nix::sys::signal::signal(Signal::SIGINT, nix::sys::signal::SigHandler::SigIgn)
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let mut child: Child = c.spawn().expect("spawn gridlink");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log.contains(ready) {
        assert!(Instant::now() < deadline, "never saw {ready:?}:\n{log}");
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            log.push_str(&l);
            log.push('\n');
        }
    }
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running 30 s after {sig}:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
        log.push_str(&l);
        log.push('\n');
    }
    (status, log)
}

fn assert_orderly(what: &str, sig: Signal, status: std::process::ExitStatus, log: &str) {
    assert_eq!(
        status.signal(),
        None,
        "{what} was killed by a signal after {sig}, not stopped in order:\n{log}"
    );
    assert!(status.success(), "{what} after {sig}: {status}\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bridge_and_subscribe_stop_in_order_on_sigterm_and_on_an_early_sigint() {
    let p = common::prosody();
    let publisher = common::grid(&p, "publisher").await;
    common::open_topic(&publisher, "signals").await;
    let dir = tempfile::tempdir().unwrap();
    let bridge = |n: &str| {
        let mut c = common::gridlink(&p, "publisher", "publisher-pw");
        c.env("RUST_LOG", "gridlink=info")
            .args(["bridge", "--topic", "signals", "--listen", "127.0.0.1:0"])
            .arg("--store")
            .arg(dir.path().join(format!("{n}.sqlite")));
        c
    };
    let subscribe = || {
        let mut c = common::gridlink(&p, "publisher", "publisher-pw");
        c.args(["subscribe", "--topic", "signals"]);
        c
    };
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        let (status, log) = tokio::task::block_in_place(|| {
            stop_at_ready(bridge(sig.as_str()), "serving ROLIE on", sig)
        });
        assert_orderly("bridge", sig, status, &log);
        assert!(log.contains("ROLIE server shutting down"), "{log}");
        let (status, log) = tokio::task::block_in_place(|| {
            stop_at_ready(subscribe(), "waiting for new items", sig)
        });
        assert_orderly("subscribe", sig, status, &log);
    }
}
