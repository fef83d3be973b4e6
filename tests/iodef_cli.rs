//! `gridlink iodef …` subcommands, driven through the same `run_to` the binary calls (the module is
//! compiled into this test by path, so these tests do not depend on how `main.rs` is wired).

#[path = "../src/cli/iodef.rs"]
#[allow(dead_code)]
mod cli_iodef;

use std::path::{Path, PathBuf};

use clap::Parser;
use cli_iodef::{run_to, IodefCommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: IodefCommand,
}

fn fx(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/iodef")
        .join(p)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> (bool, String) {
    let cli = Cli::try_parse_from(std::iter::once("iodef").chain(args.iter().copied()))
        .expect("arguments parse");
    let mut out = Vec::new();
    let code = run_to(cli.cmd, &mut out).expect("command runs");
    (
        format!("{code:?}") == format!("{:?}", std::process::ExitCode::SUCCESS),
        String::from_utf8(out).unwrap(),
    )
}

/// `validate` exits 0 iff every file is valid and prints one line per problem with file, line and path.
#[test]
fn validate() {
    let (ok, out) = run(&[
        "validate",
        &fx("valid/rfc7970-sec7.1-minimal.xml"),
        &fx("json/rfc8727-sec4.1-fig1-minimal.json"),
    ]);
    assert!(ok, "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");
    let (ok, out) = run(&[
        "validate",
        &fx("valid/rfc7970-sec7.1-minimal.xml"),
        &fx("invalid/bad-purpose.xml"),
    ]);
    assert!(!ok);
    let line = out.lines().find(|l| l.contains("bad-purpose")).unwrap();
    assert!(
        line.contains("bad-purpose.xml:11: /IODEF-Document/Incident[1]/@purpose: value \"attack\""),
        "{line}"
    );
    let (ok, out) = run(&["validate", &fx("v1/rfc5070-sec7.1-worm.xml")]);
    assert!(!ok);
    assert!(out.contains("IODEF v1"), "{out}");
    let (ok, _) = run(&[
        "validate",
        "--level",
        "basic",
        &fx("invalid/bad-purpose.xml"),
    ]);
    assert!(ok, "basic validation does not check enumerations");
}

/// `convert` detects the input format and round-trips.
#[test]
fn convert() {
    let (ok, json) = run(&[
        "convert",
        "--to",
        "json",
        &fx("valid/rfc7970-sec7.1-minimal.xml"),
    ]);
    assert!(ok);
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fx("json/rfc8727-sec4.1-fig1-minimal.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap(),
        expected
    );
    let (ok, xml) = run(&[
        "convert",
        "--to",
        "xml",
        &fx("json/rfc8727-sec4.1-fig1-minimal.json"),
    ]);
    assert!(ok);
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<IODEF-Document"),
        "{xml}"
    );
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), &xml).unwrap();
    let (ok, json2) = run(&["convert", "--to", "json", &tmp.path().display().to_string()]);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json2).unwrap(),
        expected
    );
}

/// `summary` shows ids, purpose, times and counts.
#[test]
fn summary() {
    let (ok, out) = run(&["summary", &fx("valid/gridlink-rich.xml")]);
    assert!(ok);
    for needle in [
        "csirt.example.com#GL-2026-0001",
        "instance 2",
        "purpose      watch (status new)",
        "restriction  green",
        "generated    2026-11-21T08:05:00-05:00",
        "indicators   3",
        "events       1",
        "contacts     2",
    ] {
        assert!(out.contains(needle), "{needle:?} missing in\n{out}");
    }
    let _ = PathBuf::new();
}
