//! Issue 18, item 1: no password and no SASL exchange in any log, at any
//! verbosity, whatever `RUST_LOG` says.
//!
//! tokio-xmpp writes the raw stream at trace level ("SEND"/"RECV" under the
//! target `tokio_xmpp::xmlstream::capture`), SASL included: against a server
//! that offers only PLAIN that is the password in base64, against a SCRAM
//! server the whole exchange (enough for an offline dictionary attack). Every
//! command that logs in runs here at `-vvv` (and once with `RUST_LOG=trace`)
//! against a PLAIN-only and a SCRAM Prosody; all of its output is searched
//! for the password, its base64 forms, SCRAM's message prefixes and the SASL
//! namespace itself.

mod common;

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use gridlink::lab::{Prosody, ProsodyOptions};

const TOPIC: &str = "secrets";
const PUBLISHER_PW: &str = "pub-S3cr3t-a91f0c2e77";
const SUBSCRIBER_PW: &str = "sub-S3cr3t-5be3d0417a";
const WRONG_PW: &str = "wrong-S3cr3t-c0ffee1234";
const FEED_PW: &str = "feed-S3cr3t-77aa01bd";
const FEED_TOKEN: &str = "tok-S3cr3t-9e8d7c6b";

fn lab(plain_only: bool) -> Prosody {
    common::start_prosody(ProsodyOptions {
        users: vec![
            ("publisher".into(), PUBLISHER_PW.into()),
            ("subscriber".into(), SUBSCRIBER_PW.into()),
        ],
        plain_only,
        ..ProsodyOptions::default()
    })
}

/// `gridlink -vvv` as `user` with `password` (from the environment).
fn gridlink(p: &Prosody, user: &str, password: &str) -> Command {
    let mut c = common::gridlink(p, user, password);
    c.arg("-vvv").stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// Runs `c` to its end (at most `limit`), returning its whole output.
fn run(mut c: Command, limit: Duration) -> (Output, String) {
    let child = c.spawn().expect("spawn gridlink");
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait for gridlink"),
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!("gridlink did not finish within {limit:?}");
        }
    };
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// Runs the long-lived `c` until its stderr shows `ready`, then stops it
/// with SIGINT (as Ctrl-C would) and returns everything it wrote.
fn run_until(mut c: Command, ready: &str) -> String {
    let mut child: Child = c.spawn().expect("spawn gridlink");
    let mut stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 || tx.send(String::from_utf8_lossy(&buf[..n]).into()).is_err() {
                break;
            }
        }
    });
    let mut err = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !err.contains(ready) && Instant::now() < deadline {
        if let Ok(s) = rx.recv_timeout(Duration::from_millis(200)) {
            err.push_str(&s);
        }
    }
    assert!(err.contains(ready), "never saw {ready:?}:\n{err}");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    let _ = child.wait();
    while let Ok(s) = rx.recv_timeout(Duration::from_millis(500)) {
        err.push_str(&s);
    }
    format!("{out}\n{err}")
}

/// Every command that logs in, at the highest verbosity; returns each
/// command's name and output.
fn every_command(p: &Prosody) -> Vec<(String, String)> {
    let mut outputs = Vec::new();
    let mut ok = |name: &str, args: &[&str], user: &str, pw: &str, rust_log: bool| {
        let mut c = gridlink(p, user, pw);
        if rust_log {
            c.env("RUST_LOG", "trace");
        }
        c.args(args);
        let (out, text) = run(c, Duration::from_secs(60));
        assert!(out.status.success(), "{name} failed:\n{text}");
        outputs.push((name.to_string(), text));
    };
    let doc = common::fixture(common::VALID[0]);
    let doc = doc.to_str().expect("fixture path");
    ok(
        "topic create",
        &["topic", "create", TOPIC, "--access-model", "open"],
        "publisher",
        PUBLISHER_PW,
        false,
    );
    ok(
        "topic info",
        &["topic", "info", TOPIC],
        "publisher",
        PUBLISHER_PW,
        false,
    );
    ok(
        "discover",
        &["discover"],
        "subscriber",
        SUBSCRIBER_PW,
        false,
    );
    ok(
        "discover (RUST_LOG=trace)",
        &["discover"],
        "subscriber",
        SUBSCRIBER_PW,
        true,
    );
    ok(
        "publish",
        &["publish", "--topic", TOPIC, doc],
        "publisher",
        PUBLISHER_PW,
        true,
    );
    ok(
        "publish --durable",
        &["publish", "--durable", "--topic", TOPIC, doc],
        "publisher",
        PUBLISHER_PW,
        false,
    );
    ok(
        "items",
        &["items", "--topic", TOPIC],
        "subscriber",
        SUBSCRIBER_PW,
        false,
    );
    ok(
        "subscribe",
        &["subscribe", "--topic", TOPIC, "--count", "1"],
        "subscriber",
        SUBSCRIBER_PW,
        true,
    );
    ok(
        "topic affiliations",
        &["topic", "affiliations", TOPIC],
        "publisher",
        PUBLISHER_PW,
        false,
    );

    // A failed login (wrong password from a file, JSON logs).
    let pwfile = p.dir().join("wrong-pw");
    std::fs::write(&pwfile, format!("{WRONG_PW}\n")).expect("write password file");
    let mut c = gridlink(p, "publisher", "");
    c.env_remove("GRIDLINK_PASSWORD")
        .env("RUST_LOG", "trace")
        .arg("--password-file")
        .arg(&pwfile)
        .args(["--log-format", "json", "discover"]);
    let (out, text) = run(c, Duration::from_secs(60));
    assert!(!out.status.success(), "a wrong password logged in:\n{text}");
    outputs.push(("failed login".into(), text));

    // The bridge (password on the command line), until it serves.
    let mut c = gridlink(p, "subscriber", "");
    c.env_remove("GRIDLINK_PASSWORD")
        .args(["--password", SUBSCRIBER_PW, "bridge", "--topic", TOPIC])
        .args(["--listen", "127.0.0.1:0"])
        // A feed URL with credentials: logged redacted (`source started`, poll errors).
        .args([
            "--poll",
            &format!("https://feeduser:{FEED_PW}@127.0.0.1:9/feed?token={FEED_TOKEN}={TOPIC}"),
        ])
        .arg("--store")
        .arg(p.dir().join("bridge.sqlite"));
    let text = run_until(c, "source started source=poll");
    // Proof the poll source's name reached the log (redacted): else the
    // feed secrets' absence would prove nothing.
    assert!(
        text.contains("source started") && text.contains("poll https://127.0.0.1:9/feed"),
        "the bridge did not log its poll source:\n{text}"
    );
    outputs.push(("bridge".into(), text));
    outputs
}

/// What must never appear: the passwords, their base64 forms, SCRAM's
/// first messages in base64 (`n,,n=` and `c=biws`), and any SASL element.
fn secrets() -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    // The characters of `b64(s)` that stay the same whatever follows `s`:
    // what the base64 of a longer message starting with `s` contains.
    let stem = |s: &str| b64(s)[..s.len() * 8 / 6].to_string();
    let mut out = vec![
        "urn:ietf:params:xml:ns:xmpp-sasl".to_string(),
        FEED_PW.to_string(),
        FEED_TOKEN.to_string(),
        stem("n,,n="),
        stem("c=biws"),
    ];
    for (user, pw) in [
        ("publisher", PUBLISHER_PW),
        ("subscriber", SUBSCRIBER_PW),
        ("publisher", WRONG_PW),
    ] {
        out.push(pw.to_string());
        out.push(stem(pw));
        // PLAIN's message: [authzid] NUL authcid NUL password.
        out.push(stem(&format!("\0{user}\0{pw}")));
        out.push(stem(&format!("{user}@localhost\0{user}\0{pw}")));
    }
    out
}

fn assert_clean(server: &str, outputs: &[(String, String)], mechanism: &str) {
    for (name, text) in outputs {
        // Trace records of the `log` crates are compiled out (Cargo.toml),
        // so the proof of the highest verbosity is their debug lines.
        assert!(
            text.contains("DEBUG"),
            "{server}: {name}'s log is not at the highest level:\n{text}"
        );
        for s in secrets() {
            assert!(
                !text.contains(&s),
                "{server}: {name}'s output contains {s:?}:\n{text}"
            );
        }
    }
    // Proof that the mechanism under test was the one used.
    let publish = &outputs
        .iter()
        .find(|(n, _)| n == "publish")
        .expect("publish ran")
        .1;
    assert!(
        publish.contains(&format!("mechanism=\"{mechanism}"))
            || publish.contains(&format!("mechanism={mechanism}")),
        "{server}: publish did not authenticate with {mechanism}:\n{publish}"
    );
}

/// Against a server that offers only PLAIN: the password crosses the
/// stream in base64, and no log may carry it.
#[test]
fn plain_only_server_no_secret_in_any_log() {
    let p = lab(true);
    let outputs = every_command(&p);
    assert_clean("PLAIN-only Prosody", &outputs, "PLAIN");
}

/// Against a SCRAM server: no part of the SCRAM exchange in any log.
#[test]
fn scram_server_no_sasl_exchange_in_any_log() {
    let p = lab(false);
    let outputs = every_command(&p);
    assert_clean("SCRAM Prosody", &outputs, "SCRAM");
}
