//! `/metrics` is valid Prometheus text exposition even when label values
//! come from outside: a topic name or a poll URL with `"`, `\` and a line
//! feed is escaped, checked with the reference parser (Python
//! `prometheus_client`, in tests/requirements.txt).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::rolie::*;
use gridlink::metrics::{Exposition, Kind};
use gridlink::rolie::Hooks;

const HOSTILE: &str = "a\"b\\c\nd} 1\nevil_total 9";

/// The samples of `text` as the reference parser reads them.
fn parse(text: &str) -> Vec<(String, serde_json::Map<String, serde_json::Value>, f64)> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/prom_parse.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (the CI image's Python 3.11)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'prometheus_client'"),
        "Python module prometheus_client is not available: pip install -r tests/requirements.txt"
    );
    assert!(
        out.status.success(),
        "not valid exposition text:\n{stderr}\n--- text ---\n{text}"
    );
    let v: Vec<(String, serde_json::Map<String, serde_json::Value>, f64)> =
        serde_json::from_slice(&out.stdout).expect("parser JSON");
    v
}

#[tokio::test]
async fn hostile_label_values_give_valid_exposition() {
    // What the bridge's poll counters write, through the shared writer.
    let hook = Arc::new(|out: &mut String| {
        Exposition::new(out)
            .family(
                "gridlink_poll_errors_total",
                Kind::Counter,
                "Failed poll rounds.",
            )
            .sample(
                "gridlink_poll_errors_total",
                &[
                    ("source", &format!("https://x.example/{HOSTILE}")),
                    ("topic", HOSTILE),
                ],
                2,
            );
    });
    let hooks = Hooks {
        metrics: Some(hook),
        ..Hooks::default()
    };
    let s = start_in(None, base_config(), hooks).await;
    let (_, doc) = &iodef_examples()[0];
    s.store.put(envelope(HOSTILE, "a", doc)).await.unwrap();
    let r = get(&s.url("/metrics")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    let samples = parse(&text);
    let find = |name: &str| {
        samples
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{name} not in {text}"))
    };
    let (_, labels, value) = find("gridlink_store_items");
    assert_eq!(labels["topic"], HOSTILE);
    assert_eq!(*value, 1.0);
    let (_, labels, _) = find("gridlink_store_puts_total");
    assert_eq!(labels["topic"], HOSTILE);
    let (_, labels, value) = find("gridlink_poll_errors_total");
    assert_eq!(labels["topic"], HOSTILE);
    assert_eq!(labels["source"], format!("https://x.example/{HOSTILE}"));
    assert_eq!(*value, 2.0);
    assert!(
        !samples.iter().any(|(n, _, _)| n == "evil_total"),
        "a label value injected a sample"
    );
}
