//! A newcomer's first hour (issue 20): the lab shows what it does, the
//! help teaches, the example config is valid, errors say what to do, and
//! the CLI behaves like a Unix tool (closed pipes, empty variables).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, gridlink, gridlink_bare, gridlink_lab, prosody, VALID};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(mut c: Command) -> Output {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}{}",
        c,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

// ---- 1. the lab --------------------------------------------------------

/// The lab's terminal: one short line per event, the JSON lines in a file,
/// a new incident each round, the "try this" block again after N incidents,
/// commands with the lab's own state directory and absolute paths.
#[test]
fn lab_shows_a_stream_and_keeps_its_commands_in_reach() {
    let json = tempfile::NamedTempFile::new().unwrap();
    let out = gridlink_lab()
        .args(["--interval", "1", "--rounds", "4", "--hint-every", "2"])
        .args(["--http", "127.0.0.1:0", "--json-out"])
        .arg(json.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(text(&out.stdout), "", "the terminal gets no JSON");
    let dir = err
        .split("state, logs and CA in ")
        .nth(1)
        .and_then(|r| r.lines().next())
        .unwrap_or_else(|| panic!("no lab dir in:\n{err}"))
        .trim()
        .to_string();
    assert!(
        err.contains(&format!("GRIDLINK_STATE_DIR={dir}/state")),
        "{err}"
    );
    assert!(
        err.contains(&format!("--data-binary @{dir}/your-incident.xml")),
        "{err}"
    );
    assert!(err.contains(&json.path().display().to_string()), "{err}");
    // At the start and after incidents 2 and 4.
    assert_eq!(
        err.matches("try this in another terminal").count(),
        3,
        "{err}"
    );
    let incident_lines: Vec<&str> = err.lines().filter(|l| l.contains("] incident ")).collect();
    assert_eq!(incident_lines.len(), 4, "{err}");
    assert!(incident_lines.iter().all(|l| l.len() < 160), "{err}");

    // Four items, four different ids: a stream, not replacements.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(json.path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: BTreeSet<String> = lines
        .iter()
        .filter(|l| l["kind"] == "item")
        .map(|l| l["item_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 4, "{lines:?}");
    // The 4th round replays the 1st example as a new instance, generated now.
    let first = &lines[0]["iodef"].to_string();
    let fourth = &lines[3]["iodef"].to_string();
    assert!(first.contains("492382") && fourth.contains("492382"));
    assert!(!first.contains("2015-07-18"), "{first}");
}

/// The lab's and README's POST documents are valid IODEF with ids the lab
/// never replays (so the POSTed incident is not overwritten).
#[test]
fn the_post_documents_have_ids_of_their_own() {
    let lab = std::fs::read_to_string(repo("src/bin/gridlink-lab.rs")).unwrap();
    let open = "const YOUR_INCIDENT: &str = r#\"";
    let doc = &lab[lab.find(open).unwrap() + open.len()..];
    let lab_doc = &doc[..doc.find("\"#;").unwrap()];
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let open = "/rolie/feeds/incidents <<'EOF'\n";
    let doc = &readme[readme.find(open).expect("README's POST heredoc") + open.len()..];
    let readme_doc = &doc[..doc.find("\nEOF\n").unwrap()];
    for (doc, id) in [(lab_doc, "first-post-1"), (readme_doc, "readme-1")] {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), doc).unwrap();
        let out = ok({
            let mut c = gridlink_bare();
            c.args(["iodef", "validate"]).arg(f.path());
            c
        });
        assert!(text(&out.stdout).contains("valid"));
        assert!(doc.contains(&format!(">{id}</IncidentID>")), "{doc}");
        for example in std::fs::read_dir(repo("deploy/examples")).unwrap() {
            let body = std::fs::read_to_string(example.unwrap().path()).unwrap();
            assert!(!body.contains(id));
        }
    }
}

// ---- subscribe says it is caught up ------------------------------------

/// Reads `err` until a line containing `what`; fails after 30 s (on a
/// thread, so that a silent process cannot hang the test).
fn stderr_until(err: std::process::ChildStderr, what: &'static str) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut all = String::new();
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if line.contains(what) {
            return line;
        }
        all.push_str(&line);
        all.push('\n');
    }
    panic!("no {what:?} on stderr within 30 s:\n{all}");
}

/// `subscribe` says once, on stderr, that it is caught up and waiting; a
/// second run with the same cursor says there was nothing new. Stdout
/// holds only the JSON lines.
#[test]
fn subscribe_says_when_it_is_caught_up() {
    let p = prosody();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "create", "news", "--access-model", "open"]);
    ok(c);
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["publish", "--topic", "news"])
        .arg(fixture(VALID[0]))
        .arg(fixture(VALID[1]));
    ok(c);
    for (round, expect_items) in [(1, 2), (2, 0)] {
        let mut c = gridlink(&p, "subscriber", "subscriber-pw");
        c.args(["subscribe", "--topic", "news"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let line = stderr_until(child.stderr.take().unwrap(), "waiting for new items");
        if round == 1 {
            assert!(
                line.contains("caught up on news: 2 item(s) printed"),
                "{line}"
            );
        } else {
            assert!(
                line.contains("nothing on news that cursor \"default\" has not delivered"),
                "{line}"
            );
        }
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        let lines: Vec<serde_json::Value> = text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("stdout is JSON lines only"))
            .collect();
        assert_eq!(lines.len(), expect_items, "round {round}: {lines:?}");
    }
}

// ---- 2. help that teaches ----------------------------------------------

fn help(args: &[&str]) -> String {
    let mut c = gridlink_bare();
    c.env_clear().args(args).arg("--help");
    text(&ok(c).stdout)
}

/// Every command's help ends with examples; a command's own options come
/// before the connection options, which have a heading of their own and are
/// left out of the offline commands' help.
#[test]
fn help_has_examples_and_a_connection_heading() {
    let top = help(&[]);
    let commands: Vec<String> = top
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 11, "{commands:?}");
    for c in &commands {
        let h = help(&[c]);
        assert!(h.contains("Examples:\n  gridlink "), "{c}:\n{h}");
    }
    for sub in ["create", "allow", "info"] {
        assert!(help(&["topic", sub]).contains("Examples:"), "topic {sub}");
    }
    let s = help(&["subscribe"]);
    let own = s.find("--cursor").unwrap();
    let conn = s.find("\nConnection:\n").expect("a Connection heading");
    assert!(own < conn && conn < s.find("--jid").unwrap(), "{s}");
    for offline in [
        &["iodef", "validate"][..],
        &["iodef"],
        &["completions"],
        &["man"],
    ] {
        let h = help(offline);
        assert!(
            !h.contains("--jid") && !h.contains("Connection:"),
            "{offline:?}:\n{h}"
        );
    }
    // `--config`'s help names the example file.
    assert!(top.contains("gridlink.example.toml"), "{top}");
}

/// Completions for bash, zsh and fish and a man page, from the clap
/// definitions.
#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let mut c = gridlink_bare();
        c.args(["completions", shell]);
        let out = text(&ok(c).stdout);
        assert!(out.contains("subscribe"), "{shell}");
        assert!(out.contains("topic"), "{shell}");
    }
    let mut c = gridlink_bare();
    c.arg("man");
    let page = text(&ok(c).stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH gridlink 1"),
        "{page}"
    );
    for cmd in [
        "gridlink subscribe",
        "gridlink topic allow",
        "gridlink iodef convert",
    ] {
        assert!(page.contains(&cmd.replace('-', "\\-")), "{cmd}");
    }
    // Rendered by man(1) where it is installed (it is not on every CI image).
    if let Ok(mut man) = Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        man.stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = man.wait_with_output().unwrap();
        let shown = text(&out.stdout);
        assert!(shown.contains("gridlink topic allow"), "{shown}");
        assert!(shown.contains("CONNECTION"), "{shown}");
    }
}

// ---- the example config -------------------------------------------------

/// The keys serde knows for `T`, from its "unknown field" error.
fn keys_of<T: serde::de::DeserializeOwned + std::fmt::Debug>() -> Vec<String> {
    let e = toml::from_str::<T>("zz_not_a_key = 1")
        .unwrap_err()
        .to_string();
    e.split("expected one of ")
        .nth(1)
        .unwrap()
        .split(',')
        .map(|k| k.trim().trim_matches(|c| c == '`' || c == '\n').to_string())
        .filter(|k| !k.is_empty())
        .collect()
}

/// Parses a config text through the library's types, as `gridlink` and
/// `gridlink bridge` do; returns how many sinks and sources it has.
fn parse_config(path: &Path) -> (usize, usize) {
    let f = gridlink::config::FileConfig::load(path).unwrap();
    let bridge: gridlink::bridge::BridgeFile =
        toml::Value::Table(f.bridge.unwrap()).try_into().unwrap();
    assert!(bridge.listen.is_some());
    let sinks = f.sink.unwrap_or_default();
    for s in &sinks {
        let _: gridlink::sink::SinkConfig = toml::Value::Table(s.clone()).try_into().unwrap();
    }
    let sources = f.source.unwrap_or_default();
    for s in &sources {
        let _: gridlink::source::SourceConfig = toml::Value::Table(s.clone()).try_into().unwrap();
    }
    (sinks.len(), sources.len())
}

/// gridlink.example.toml names every key, loads as it is and with every
/// `#key = value` line uncommented, and gets `gridlink` to the connection.
#[test]
fn the_example_config_is_complete_and_valid() {
    let path = repo("gridlink.example.toml");
    let body = std::fs::read_to_string(&path).unwrap();
    let keys = keys_of::<gridlink::config::FileConfig>()
        .into_iter()
        .chain(keys_of::<gridlink::bridge::BridgeFile>());
    for k in keys {
        let named = body.lines().any(|l| {
            let l = l.trim_start_matches('#');
            l.starts_with(&format!("{k} = "))
                || l.starts_with(&format!("[{k}]"))
                || l.starts_with(&format!("[[{k}]]"))
        });
        assert!(named, "key {k} is missing from gridlink.example.toml");
    }
    assert_eq!(parse_config(&path), (1, 0));
    let all: String = body
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase() || c == '[') => {
                rest.to_string()
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let uncommented = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(uncommented.path(), all).unwrap();
    assert_eq!(parse_config(uncommented.path()), (5, 2));

    // The binary reads it and goes on to connect (a closed port here).
    let mut c = gridlink_bare();
    c.env_clear()
        .env("GRIDLINK_PASSWORD", "x")
        .arg("--config")
        .arg(&path)
        .args(["--server", "127.0.0.1:1", "discover"]);
    let out = c.output().unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot join the grid as soc@grid.example"),
        "{err}"
    );
}

// ---- 3. errors a user can act on ---------------------------------------

fn fails(c: Command) -> String {
    let mut c = c;
    let out = c.output().unwrap();
    assert!(!out.status.success(), "{c:?} succeeded");
    text(&out.stderr)
}

/// Conflict, forbidden and item-not-found say what to do, without the
/// broker's answer printed twice.
#[test]
fn broker_refusals_come_with_the_command_that_helps() {
    let p = prosody();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "create", "incidents"]);
    ok(c);
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "allow", "incidents", "subscriber@localhost"]);
    ok(c);

    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "create", "incidents"]);
    let err = fails(c);
    assert!(
        err.contains(
            "topic incidents already exists at pubsub.localhost (`gridlink topic ensure incidents`"
        ),
        "{err}"
    );

    let mut c = gridlink(&p, "subscriber", "subscriber-pw");
    c.args(["publish", "--topic", "incidents"])
        .arg(fixture(VALID[0]));
    let err = fails(c);
    assert!(
        err.contains("subscriber@localhost may not publish to topic incidents"),
        "{err}"
    );
    assert!(err.contains("publisher (or owner) affiliation"), "{err}");
    assert!(
        err.contains("`gridlink topic allow incidents subscriber@localhost --as publisher`"),
        "{err}"
    );

    for args in [
        &["items", "--topic", "nope"][..],
        &["items", "--topic", "nope", "--max", "2"],
        &["subscribe", "--topic", "nope"],
        &["topic", "info", "nope"],
    ] {
        let mut c = gridlink(&p, "subscriber", "subscriber-pw");
        c.args(args);
        let err = fails(c);
        assert!(
            err.contains("no topic nope at pubsub.localhost (`gridlink discover` lists them)"),
            "{args:?}: {err}"
        );
    }

    // An owner's operation by someone else: no text twice in the chain.
    let mut c = gridlink(&p, "subscriber", "subscriber-pw");
    c.args(["topic", "delete", "incidents"]);
    let err = fails(c);
    assert!(
        err.contains("subscriber@localhost is not an owner of topic incidents"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.matches("answered: forbidden").count(), 1, "{err}");
}

/// Runs `c` with its stdout closed before it writes: like `| head` that has
/// already exited. It must end quietly with exit 0.
fn closed_stdout(mut c: Command, what: &str) {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{what}: {:?} {err}", out.status);
    assert!(
        !err.contains("Broken pipe") && !err.contains("panicked"),
        "{what}: {err}"
    );
}

/// `iodef convert | head`, `discover | head`, `items | head`.
#[test]
fn a_closed_stdout_ends_commands_quietly() {
    let mut c = gridlink_bare();
    c.args(["iodef", "convert", "--to", "json"])
        .arg(fixture(VALID[1]));
    closed_stdout(c, "iodef convert");
    let mut c = gridlink_bare();
    c.args(["iodef", "validate"]).arg(fixture(VALID[1]));
    closed_stdout(c, "iodef validate");
    let mut c = gridlink_bare();
    c.args(["completions", "bash"]);
    closed_stdout(c, "completions");

    let p = prosody();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["topic", "create", "incidents", "--access-model", "open"]);
    ok(c);
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["publish", "--topic", "incidents"])
        .arg(fixture(VALID[0]));
    ok(c);
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.arg("discover");
    closed_stdout(c, "discover");
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["items", "--topic", "incidents"]);
    closed_stdout(c, "items");
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    c.args(["items", "--topic", "incidents", "--max", "1"]);
    closed_stdout(c, "items --max");
}

/// `GRIDLINK_X=` (empty) counts as unset, for paths, numbers and names.
#[test]
fn empty_gridlink_variables_count_as_unset() {
    let mut c = gridlink_bare();
    c.env_clear()
        .env("GRIDLINK_IQ_TIMEOUT", "")
        .env("GRIDLINK_LOG_FORMAT", "")
        .args(["iodef", "summary"])
        .arg(fixture(VALID[0]));
    ok(c);

    let p = prosody();
    let mut c = gridlink(&p, "publisher", "publisher-pw");
    // The CA comes from --ca-file; the empty variables must not override
    // anything or fail to parse.
    c.env("GRIDLINK_CA_FILE", "")
        .env("GRIDLINK_PUBSUB", "")
        .env("GRIDLINK_IQ_TIMEOUT", "")
        .env("GRIDLINK_CONFIG", "")
        .arg("discover");
    ok(c);
}
