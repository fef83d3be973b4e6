//! The `gridlink` binary as a user runs it, against a real Prosody.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, gridlink, gridlink_bare, prosody, MARKED, VALID};

/// Runs with a time limit, draining both pipes while it runs; returns the
/// output and how long it took.
fn run(mut c: Command, limit: Duration) -> (Output, Duration) {
    let t = Instant::now();
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gridlink");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => (out.unwrap(), t.elapsed()),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("gridlink still running after {limit:?}");
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `--help` lists every command of the product.
#[test]
fn help_lists_every_command() {
    let out = gridlink_bare().arg("--help").output().unwrap();
    let help = stdout(&out);
    for cmd in [
        "discover",
        "topic",
        "publish",
        "retract",
        "subscribe",
        "items",
        "iodef",
        "bridge",
    ] {
        assert!(help.contains(cmd), "--help lacks {cmd}:\n{help}");
    }
}

/// Wrong password: non-zero exit within 10 s and one line saying why.
#[test]
fn wrong_password_exits_fast_with_one_line() {
    let p = prosody();
    let mut c = gridlink(&p, "publisher", "not-the-password");
    c.arg("discover");
    let (out, took) = run(c, Duration::from_secs(15));
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains("not-the-password"), "password leaked: {err}");
}

/// Untrusted CA and a closed port: one clear line each, non-zero.
#[test]
fn untrusted_ca_and_closed_port_are_one_line_errors() {
    let p = prosody();
    let mut c = gridlink_bare();
    c.env_clear()
        .env("GRIDLINK_PASSWORD", "publisher-pw")
        .args(["--jid", "publisher@localhost", "--server"])
        .arg(format!("127.0.0.1:{}", p.c2s_port))
        .arg("--ca-file")
        .arg(fixture("iodef/README.md")) // no certificate in it
        .arg("discover");
    let (out, _) = run(c, Duration::from_secs(15));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no PEM certificate"),
        "{}",
        stderr(&out)
    );

    let mut c = gridlink_bare();
    c.env_clear()
        .env("GRIDLINK_PASSWORD", "x")
        .args(["--jid", "publisher@localhost", "--server"])
        .arg(format!("127.0.0.1:{}", gridlink::lab::free_port().unwrap()))
        .arg("discover");
    let (out, took) = run(c, Duration::from_secs(15));
    assert!(took < Duration::from_secs(10));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("connection refused"), "{err}");

    // The system trust store does not know the lab CA.
    let mut c = gridlink_bare();
    c.env_clear()
        .env("GRIDLINK_PASSWORD", "publisher-pw")
        .args(["--jid", "publisher@localhost", "--server"])
        .arg(format!("127.0.0.1:{}", p.c2s_port))
        .arg("discover");
    let (out, _) = run(c, Duration::from_secs(15));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("untrusted server certificate"),
        "{}",
        stderr(&out)
    );
}

/// Settings from a TOML file, overridden by environment, overridden by flags.
#[test]
fn config_file_env_and_flags_layer() {
    let p = prosody();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gridlink.toml");
    std::fs::write(
        &cfg,
        format!(
            "jid = \"nobody@localhost\"\nserver = \"127.0.0.1:{}\"\nca_file = \"{}\"\npassword = \"wrong\"\n",
            p.c2s_port,
            p.ca.ca_pem.display()
        ),
    )
    .unwrap();
    // File alone: wrong account → auth failure (proves the file is read).
    let mut c = gridlink_bare();
    c.env_clear().arg("--config").arg(&cfg).arg("discover");
    let (out, _) = run(c, Duration::from_secs(15));
    assert!(
        stderr(&out).contains("authentication failed for nobody@localhost"),
        "{}",
        stderr(&out)
    );
    // Env overrides the file's password and the flag overrides its JID.
    let mut c = gridlink_bare();
    c.env_clear()
        .env("GRIDLINK_PASSWORD", "subscriber-pw")
        .arg("--config")
        .arg(&cfg)
        .args(["--jid", "subscriber@localhost", "discover", "--json"]);
    let (out, _) = run(c, Duration::from_secs(15));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["service"], "pubsub.localhost");
}

/// publish → items → subscribe through the CLI: `item-id<TAB>source` lines,
/// JSON lines with the documented fields, a failing file named with its reason.
#[test]
fn publish_items_and_subscribe_via_cli() {
    let p = prosody();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "create", "incidents", "--access-model", "open"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));

    // A subscriber waiting for two items, started before publishing.
    let mut sub = gridlink(&p, "subscriber", "subscriber-pw");
    sub.args(["subscribe", "--topic", "incidents", "--count", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut sub = sub.spawn().unwrap();
    std::thread::sleep(Duration::from_secs(2));

    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "<not-iodef/>").unwrap();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["publish", "--topic", "incidents"])
        .arg(fixture(VALID[0]))
        .arg(bad.path())
        .arg(fixture(VALID[1]));
    let (out, _) = run(c, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1), "one file failed");
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("csirt.example.com:492382\t"),
        "{lines:?}"
    );
    assert!(stderr(&out).contains(&bad.path().display().to_string()));

    let t = Instant::now();
    while sub.try_wait().unwrap().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "subscriber did not get 2 items"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut text = String::new();
    sub.stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{text}");
    for key in [
        "kind",
        "topic",
        "item_id",
        "publisher",
        "received_at",
        "delayed_at",
        "payload_ns",
        "document",
        "iodef",
    ] {
        assert!(events[0].get(key).is_some(), "missing {key}: {}", events[0]);
    }
    assert_eq!(events[0]["kind"], "item");
    assert_eq!(events[0]["payload_ns"], "urn:ietf:params:xml:ns:iodef-2.0");

    // History, as files named after the item ids.
    let dir = tempfile::tempdir().unwrap();
    let mut c = gridlink(&p, "subscriber", "subscriber-pw");
    // `--page 2`: the newest page is full, so the ids are listed and paged.
    c.args([
        "items",
        "--topic",
        "incidents",
        "--page",
        "2",
        "--format",
        "xml",
        "--out",
    ])
    .arg(dir.path());
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(Path::new(&dir.path().join("csirt.example.com:492382.xml")).exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

    // `topic purge` empties the topic; it stays.
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "purge", "incidents"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "purged\tincidents");
    let mut c = gridlink(&p, "subscriber", "subscriber-pw");
    c.args(["items", "--topic", "incidents"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "", "items left after purge");
}

/// Secrets never reach the logs, even at trace level.
#[test]
fn password_not_in_trace_logs() {
    let p = prosody();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["-vvv", "discover"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains("authenticated"),
        "trace log too quiet to prove anything"
    );
    assert!(!all.contains("publisher-pw"), "password in logs");
}

/// `bridge` without topics says what to add, and fails.
#[test]
fn bridge_without_topics_says_what_is_missing() {
    let out = gridlink_bare()
        .env_clear()
        .args(["--jid", "a@localhost", "--password", "x", "bridge"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--topic"), "{}", stderr(&out));
}

/// A subscriber whose account is deleted: after the server restart it
/// cannot log in again, and rather than retry forever it exits non-zero,
/// its last line saying why.
#[test]
fn subscriber_exits_when_its_account_is_gone() {
    let mut p = prosody();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "create", "incidents", "--access-model", "open"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut sub = gridlink(&p, "subscriber", "subscriber-pw");
    sub.args(["subscribe", "--topic", "incidents"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut sub = sub.spawn().unwrap();
    // Joined and subscribed before the account goes (on a busy machine two
    // seconds were not always enough to log in): its caught-up line says so.
    let mut err_pipe = std::io::BufReader::new(sub.stderr.take().unwrap());
    let mut early = String::new();
    let t = Instant::now();
    while !early.contains("waiting for new items") {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "never caught up: {early}"
        );
        if std::io::BufRead::read_line(&mut err_pipe, &mut early).unwrap() == 0 {
            panic!("the subscriber ended before it caught up: {early}");
        }
    }
    p.delete_user("subscriber").unwrap();
    p.start_again().unwrap();
    let t = Instant::now();
    while sub.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(40) {
            let _ = sub.kill();
            let _ = sub.wait();
            let mut err = String::new();
            let _ = err_pipe.read_to_string(&mut err);
            panic!("the subscriber is still retrying after 40 s:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = sub.wait().unwrap();
    let mut err = String::new();
    err_pipe.read_to_string(&mut err).unwrap();
    assert!(!status.success(), "{err}");
    let last = err.trim().lines().last().unwrap_or_default();
    assert!(
        last.contains("the XMPP session ended") && last.contains("not-authorized"),
        "{err}"
    );
}

/// `publish --share … --omit …` leaves the restricted and named elements
/// out (and says how many); what the broker keeps lacks them. A bad
/// `--omit` is a one-line error.
#[test]
fn publish_leaves_out_what_is_not_to_be_shared() {
    let p = prosody();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "create", "incidents", "--access-model", "open"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = fixture(MARKED);
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["publish", "--topic", "incidents", "--share", "white,green"])
        .args(["--omit", "Contact/Email"])
        .arg(&doc);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("left out 3 element(s)"),
        "{}",
        stderr(&out)
    );
    let mut c = gridlink(&p, "subscriber", "subscriber-pw");
    c.args(["items", "--topic", "incidents"]);
    let (out, _) = run(c, Duration::from_secs(20));
    let items = stdout(&out);
    assert!(items.contains("marked-1"), "{items}");
    for gone in ["internal notes", "csirt@example.com", "victim@example.org"] {
        assert!(!items.contains(gone), "{gone}: {items}");
    }

    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args([
        "publish",
        "--topic",
        "incidents",
        "--omit",
        "Contact//Email",
    ])
    .arg(&doc);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(!out.status.success());
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("--omit"), "{}", stderr(&out));
}

/// `topic allow` grants the named JID, logged in as the owner (the JID
/// argument is not the global `--jid`: once it was, and the command logged
/// in as the JID to be granted): a whitelist topic the subscriber could not
/// read becomes readable.
#[test]
fn topic_allow_grants_a_member() {
    let p = prosody();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "create", "closed"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    let items = || {
        let mut c = gridlink(&p, "subscriber", "subscriber-pw");
        c.args(["items", "--topic", "closed", "--max", "1"]);
        run(c, Duration::from_secs(20)).0
    };
    assert!(
        !items().status.success(),
        "a non-member read a whitelist topic"
    );

    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "allow", "closed", "subscriber@localhost"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("allowed\tclosed\tsubscriber@localhost"),
        "{}",
        stdout(&out)
    );
    let out = items();
    assert!(
        out.status.success(),
        "a member cannot read: {}",
        stderr(&out)
    );
}

/// `retract` withdraws published items (they leave the topic) and goes on
/// past an id the topic does not have, naming it and exiting 1.
#[test]
fn retract_withdraws_items_and_names_the_ones_it_could_not() {
    let p = prosody();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "create", "incidents", "--access-model", "open"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["publish", "--topic", "incidents"])
        .arg(fixture(VALID[0]))
        .arg(fixture(VALID[1]));
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.split('\t').next().map(String::from))
        .collect();
    assert_eq!(ids.len(), 2, "{}", stdout(&out));

    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["retract", "--topic", "incidents", "no-such-item", &ids[0]]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("retracted\tincidents\t{}\n", ids[0]));
    let err = stderr(&out);
    assert!(
        err.contains("no-such-item") && err.contains("1 of 2"),
        "{err}"
    );

    let mut c = gridlink(&p, "subscriber", "subscriber-pw");
    c.args(["items", "--topic", "incidents"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    let left: Vec<String> = stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            v["item_id"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(left, [ids[1].clone()]);
}

/// The owner lists who may do what with a topic: affiliations (after
/// `topic allow`) and subscriptions (once a subscriber is subscribed); a
/// non-owner is refused with a clear error.
#[test]
fn topic_lists_affiliations_and_subscriptions_for_its_owner() {
    let p = prosody();
    let owner = |args: &[&str]| {
        let mut c = gridlink(&p, "publisher", "publisher-pw");
        c.args(args);
        let (out, _) = run(c, Duration::from_secs(20));
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    owner(&["topic", "create", "closed"]);
    owner(&["topic", "allow", "closed", "subscriber@localhost"]);
    let affiliations = owner(&["topic", "affiliations", "closed"]);
    assert!(
        affiliations.contains("publisher@localhost\towner\n")
            && affiliations.contains("subscriber@localhost\tmember\n"),
        "{affiliations}"
    );

    let mut sub = gridlink(&p, "subscriber", "subscriber-pw");
    sub.args(["subscribe", "--topic", "closed"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut sub = sub.spawn().expect("spawn the subscriber");
    let t = Instant::now();
    let listed = loop {
        let json = owner(&["topic", "subscriptions", "closed", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        let subscribed = v.as_array().is_some_and(|a| {
            a.iter().any(|e| {
                e["jid"]
                    .as_str()
                    .is_some_and(|j| j.starts_with("subscriber@localhost"))
                    && e["state"] == "subscribed"
            })
        });
        if subscribed || t.elapsed() > Duration::from_secs(15) {
            break json;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let _ = sub.kill();
    let _ = sub.wait();
    assert!(listed.contains("subscribed"), "{listed}");

    let mut c = gridlink(&p, "subscriber", "subscriber-pw");
    c.args(["topic", "affiliations", "closed"]);
    let (out, _) = run(c, Duration::from_secs(20));
    assert!(!out.status.success(), "a member listed the affiliations");
    let err = stderr(&out);
    assert!(
        err.contains("list the affiliations with topic \"closed\"") && err.contains("forbidden"),
        "{err}"
    );
}
