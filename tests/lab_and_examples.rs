//! The lab command's binary and the examples, run as a newcomer would.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{fixture, grid, gridlink_lab, prosody, VALID};

/// `gridlink-lab` starts Prosody, creates the topic, publishes and receives.
#[test]
fn lab_publishes_and_receives() {
    // The JSON lines go to a file (the terminal gets one line per event).
    let json = tempfile::NamedTempFile::new().unwrap();
    let out = gridlink_lab()
        .args(["--interval", "1", "--rounds", "2", "--http", "127.0.0.1:0"])
        .arg("--json-out")
        .arg(json.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("SCRAM-SHA-1"), "{err}");
    // The analyst's web pages (issue 27): the lab says where.
    assert!(err.contains("web pages at http://127.0.0.1:"), "{err}");
    assert!(
        err.contains("incidents  type=urn:ietf:params:xml:ns:iodef-2.0"),
        "{err}"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(json.path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.iter().filter(|l| l["kind"] == "item").count(),
        2,
        "{lines:?}"
    );
}

/// The example binary as `cargo build --examples` leaves it (scripts/test
/// builds them first; `cargo test` alone builds examples as test harnesses).
fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let p = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        p.exists(),
        "{} missing: run `cargo build --examples` (scripts/test does)",
        p.display()
    );
    p
}

/// examples/controller.rs publishes and examples/siem.rs receives, against a lab Prosody.
#[tokio::test]
async fn controller_and_siem_examples_run() {
    let p = prosody();
    // The siem (subscriber) needs to be a member of the whitelist topic the
    // controller creates, so create it and grant membership first.
    let admin = grid(&p, "publisher").await;
    admin
        .ensure_topic("incidents", &Default::default())
        .await
        .unwrap();
    admin
        .set_affiliation(
            "incidents",
            &"subscriber@localhost".parse().unwrap(),
            gridlink::grid::Affiliation::Member,
        )
        .await
        .unwrap();
    let env = |c: &mut Command, user: &str| {
        c.env("GRIDLINK_JID", format!("{user}@localhost"))
            .env("GRIDLINK_PASSWORD", format!("{user}-pw"))
            .env("GRIDLINK_SERVER", format!("127.0.0.1:{}", p.c2s_port))
            .env("GRIDLINK_CA_FILE", &p.ca.ca_pem);
    };
    let mut siem = Command::new(example("siem"));
    env(&mut siem, "subscriber");
    let siem = siem
        .arg("2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut ctl = Command::new(example("controller"));
    env(&mut ctl, "publisher");
    let out = ctl
        .arg("incidents")
        .arg(fixture(VALID[0]))
        .arg(fixture(VALID[1]))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = tokio::task::spawn_blocking(move || siem.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let text = String::from_utf8_lossy(&got.stdout);
    let kinds: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].to_string())
        .collect();
    assert_eq!(kinds, ["\"item\"", "\"item\""], "{text}");
}

/// `kill` (SIGTERM, what `docker stop` sends) stops the lab like Ctrl-C:
/// it exits cleanly and its Prosody is not left running.
#[test]
fn lab_stops_its_prosody_on_sigterm() {
    lab_stops_cleanly(nix::sys::signal::Signal::SIGTERM, false);
}

/// Ctrl-C in a terminal sends SIGINT to the whole foreground process group,
/// Prosody included unless the lab keeps it in a group of its own: then it
/// died at once and the lab's sessions logged lost connections and retried
/// for seconds before the lab could stop. Now the lab closes its sessions
/// first and stops Prosody itself.
#[test]
fn ctrl_c_to_the_terminal_group_stops_the_lab_in_order() {
    lab_stops_cleanly(nix::sys::signal::Signal::SIGINT, true);
}

/// Starts the lab (in a process group of its own, as a shell job is),
/// waits for its first publication, sends `signal` to the lab or, with
/// `to_group`, to its whole group, and checks it stops in order.
fn lab_stops_cleanly(signal: nix::sys::signal::Signal, to_group: bool) {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    let mut child = gridlink_lab()
        .process_group(0)
        .args(["--interval", "1", "--http", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (mut dir, mut log, mut line) = (None, String::new(), String::new());
    // Until the first publication: Prosody is up and the lab is in its loop.
    while stderr.read_line(&mut line).unwrap() > 0 {
        log.push_str(&line);
        if let Some(d) = line.split("state, logs and CA in ").nth(1) {
            dir = Some(d.trim().to_string());
        }
        if line.contains("published") {
            break;
        }
        line.clear();
    }
    let dir = dir.unwrap_or_else(|| panic!("no state dir announced:\n{log}"));
    let prosody_running = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|p| {
            std::fs::read(p.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&dir))
                .unwrap_or(false)
        })
    };
    assert!(
        prosody_running(),
        "the lab's Prosody is not running:\n{log}"
    );
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    if to_group {
        nix::sys::signal::killpg(pid, signal).unwrap();
    } else {
        nix::sys::signal::kill(pid, signal).unwrap();
    }
    // Read the rest on a thread: a leaked Prosody holding stderr would
    // otherwise keep the pipe open, and this test waiting, forever.
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the lab did not stop within 30 s of {signal}:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let rest = rest.join().unwrap();
    assert!(status.success(), "{status}:\n{log}{rest}");
    assert!(rest.contains("stopping"), "{log}{rest}");
    // Sessions closed before Prosody stopped: none lost its connection.
    assert!(!rest.contains("connection lost"), "{log}{rest}");
    assert!(!prosody_running(), "Prosody left running after {signal}");
}

/// A lab Prosody whose port another program holds refuses to start (Prosody
/// itself keeps running without the port, and clients would reach the other
/// program), saying which port.
#[test]
fn a_taken_port_stops_the_lab_from_starting() {
    let mut p = prosody();
    p.stop();
    let squatter = std::net::TcpListener::bind(("127.0.0.1", p.c2s_port)).unwrap();
    let err = p.start_again().expect_err("started with its port taken");
    drop(squatter);
    let err = err.to_string();
    assert!(err.contains("taken by another program"), "{err}");
    assert!(err.contains(&p.c2s_port.to_string()), "{err}");
}
