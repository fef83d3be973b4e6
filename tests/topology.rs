//! The bridge assembled from configuration (issue 19): the typed `[bridge]`
//! table (every flag a key, unknown keys refused, flags over the file),
//! `[[sink]]` tables that receive the grid's events beside the ROLIE store,
//! and `[[source]]` tables, against a real Prosody and the real binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::prosody;
use gridlink::lab::Prosody;

const TOPIC: &str = "topology";

/// `gridlink --config CFG` as `user` against the lab.
fn gridlink(p: &Prosody, user: &str, cfg: &std::path::Path) -> Command {
    let mut c = common::gridlink_at(
        p.c2s_port,
        &p.ca.ca_pem,
        user,
        &format!("{user}-pw"),
        &p.dir().join(format!("state-{user}")),
    );
    c.arg("--config").arg(cfg).stdin(Stdio::null());
    c
}

/// Starts the bridge and returns it with its address once it serves.
fn start_bridge(mut c: Command) -> (Child, String) {
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the bridge");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("serving ROLIE on ").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                let _ = tx.send(addr.to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the bridge never said it serves");
    (child, addr)
}

fn stop(mut child: Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let _ = child.wait();
}

/// Publishes incident `n` to the topic as `publisher`.
fn publish(p: &Prosody, cfg: &std::path::Path, n: usize) {
    let doc = p.dir().join(format!("incident-{n}.xml"));
    std::fs::write(&doc, common::incident(n)).unwrap();
    let out = gridlink(p, "publisher", cfg)
        .args(["publish", "--topic", TOPIC])
        .arg(&doc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A plain HTTP/1.0 GET (the bridge serves loopback HTTP here); the body.
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the bridge");
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(
        text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"),
        "{text}"
    );
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < Duration::from_secs(30), "never: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A `[[sink]] type = "json_lines"` table: every item the bridge stores also
/// reaches the file, as the same JSON line `subscribe` prints; the
/// `[bridge]` table's keys (`outbox_max` among them, refused before) work.
#[test]
fn bridge_feeds_a_configured_json_lines_sink() {
    let p = prosody();
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("events.jsonl");
    let cfg = dir.path().join("gridlink.toml");
    std::fs::write(
        &cfg,
        format!(
            "[bridge]\ntopics = [\"{TOPIC}\"]\nlisten = \"127.0.0.1:0\"\noutbox_max = 5\n\
             poll_interval = 60\n\n[[sink]]\ntype = \"json_lines\"\npath = \"{}\"\n",
            lines.display()
        ),
    )
    .unwrap();
    let out = gridlink(&p, "publisher", &cfg)
        .args(["topic", "create", TOPIC, "--access-model", "open"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (bridge, addr) = start_bridge({
        let mut c = gridlink(&p, "subscriber", &cfg);
        c.arg("bridge");
        c
    });
    publish(&p, &cfg, 1);
    publish(&p, &cfg, 2);
    wait_for("two item lines in the sink's file", || {
        std::fs::read_to_string(&lines)
            .map(|t| t.matches("\"kind\":\"item\"").count() >= 2)
            .unwrap_or(false)
    });
    let text = std::fs::read_to_string(&lines).unwrap();
    for n in [1, 2] {
        assert!(
            text.contains(&format!("\"item_id\":\"csirt.example.com:{n}\"")),
            "{text}"
        );
    }
    // The store sink got them too: the feed lists both.
    let feed = get(&addr, &format!("/rolie/feeds/{TOPIC}"));
    assert_eq!(feed.matches("<entry").count(), 2, "{feed}");
    stop(bridge);
}

/// Unknown keys in `[bridge]`, `[[sink]]` and `[[source]]` are refused with
/// their names, before the bridge joins the grid.
#[test]
fn unknown_keys_are_refused_with_their_names() {
    let p = prosody();
    let dir = tempfile::tempdir().unwrap();
    for (table, bad) in [
        ("[bridge]\ntopics = [\"t\"]\nlisten_on = \"127.0.0.1:0\"\n", "listen_on"),
        (
            "[bridge]\ntopics = [\"t\"]\n[[sink]]\ntype = \"files\"\ndir = \"/tmp\"\nmode = 1\n",
            "mode",
        ),
        (
            "[bridge]\n[[source]]\ntype = \"poll\"\nurl = \"https://a.example/f\"\ntopic = \"t\"\nevery = 3\n",
            "every",
        ),
        (
            "[bridge]\ntopics = [\"t\"]\n[[sink]]\ntype = \"pigeon\"\n",
            "pigeon",
        ),
    ] {
        let cfg = dir.path().join("bad.toml");
        std::fs::write(&cfg, table).unwrap();
        let out = gridlink(&p, "subscriber", &cfg)
            .arg("bridge")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{table} accepted");
        assert!(err.contains(bad), "{table}: {err}");
        assert!(!err.contains("new XMPP session"), "joined the grid: {err}");
    }
}

/// A flag wins over its key even when it says the default (`--poll-interval
/// 60` over the file's 5 used to lose), and `[bridge.topics.NAME]` tables
/// both name the topics and set their titles.
#[test]
fn flags_override_keys_and_topic_tables_name_topics() {
    let p = prosody();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gridlink.toml");
    std::fs::write(
        &cfg,
        format!(
            "[bridge]\nlisten = \"127.0.0.1:1\"\n[bridge.topics.{TOPIC}]\ntitle = \"Titled by the file\"\n"
        ),
    )
    .unwrap();
    let out = gridlink(&p, "publisher", &cfg)
        .args(["topic", "create", TOPIC, "--access-model", "open"])
        .output()
        .unwrap();
    assert!(out.status.success());
    // The flag's listen address beats the file's port 1.
    let (bridge, addr) = start_bridge({
        let mut c = gridlink(&p, "subscriber", &cfg);
        c.args(["bridge", "--listen", "127.0.0.1:0"]);
        c
    });
    assert!(!addr.ends_with(":1"), "{addr}");
    let service = get(&addr, "/rolie/servicedocument");
    assert!(service.contains("Titled by the file"), "{service}");
    assert!(service.contains(&format!("feeds/{TOPIC}")), "{service}");
    stop(bridge);
}
