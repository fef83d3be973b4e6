//! CSAF 2.0 advisories and CVE JSON 5 records on the grid (issue 28): topics
//! typed by `pubsub#type`, the JSON in an XEP-0335 container byte for byte,
//! a foreign subscriber (slixmpp) and gridlink's own (library and
//! `subscribe` lines) receiving them; refused inputs publish nothing.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{fixture, fixture_bytes, grid, gridlink, peer, prosody};
use gridlink::grid::{GridEvent, TopicSelection};
use gridlink::iodef::ValidationLevel;
use gridlink::vuln::{CSAF_2_0_FORMAT, CVE_5_FORMAT};
use tokio_xmpp::minidom::Element;

const CSAF: [&str; 5] = [
    "csaf/bsi-2022-0001.json",
    "csaf/cisco-sa-20180328-smi2.json",
    "csaf/rhsa-2021_5217.json",
    "csaf/2022-evd-uc-03-ms-001.json",
    "csaf/avendor-advisory-0004.json",
];
const CVE: [&str; 4] = [
    "cve/full-record-basic-example.json",
    "cve/full-record-advanced-example.json",
    "cve/CVE-2022-21658.json",
    "cve/CVE-2023-5129.json",
];

fn cli_ok(p: &gridlink::lab::Prosody, args: &[&str]) -> String {
    let out = gridlink(p, "publisher", "publisher-pw")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gridlink {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The fixtures travel publisher → Prosody → subscribers unchanged: the
/// slixmpp subscriber's container text and gridlink's `document` equal the
/// files byte for byte, gridlink's JSON value equals the file's.
#[tokio::test]
async fn fixtures_round_trip_byte_equal() {
    let p = prosody();
    cli_ok(
        &p,
        &[
            "topic",
            "create",
            "advisories",
            "--payload",
            "csaf",
            "--access-model",
            "open",
        ],
    );
    cli_ok(
        &p,
        &[
            "topic",
            "create",
            "cves",
            "--payload",
            "cve",
            "--access-model",
            "open",
        ],
    );
    cli_ok(
        &p,
        &["topic", "create", "incidents", "--access-model", "open"],
    );
    // discover names each topic's type.
    let found: serde_json::Value =
        serde_json::from_str(&cli_ok(&p, &["discover", "--json"])).unwrap();
    let types: std::collections::BTreeMap<String, serde_json::Value> = found["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["node"].as_str().unwrap().to_owned(), t["payload"].clone()))
        .collect();
    assert_eq!(types["advisories"], "csaf", "{found}");
    assert_eq!(types["cves"], "cve", "{found}");
    assert_eq!(types["incidents"], "iodef", "{found}");
    let info: serde_json::Value =
        serde_json::from_str(&cli_ok(&p, &["topic", "info", "advisories", "--json"])).unwrap();
    assert_eq!(info["type"], CSAF_2_0_FORMAT);

    let mut slix = peer(&p, "subscribe", "subscriber")
        .args(["--node", "advisories", "--count", &CSAF.len().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(slix.stdout.take().unwrap()).lines();
    let (first, lines) = tokio::task::spawn_blocking(move || (lines.next(), lines))
        .await
        .unwrap();
    assert_eq!(
        first.and_then(Result::ok).as_deref(),
        Some("READY"),
        "slixmpp did not subscribe"
    );
    let subscriber = grid(&p, "subscriber").await;
    let mut sub = subscriber
        .subscribe(
            TopicSelection::Named(vec!["advisories".into(), "cves".into()]),
            ValidationLevel::Strict,
        )
        .await
        .unwrap();

    let mut args = vec!["publish".to_string(), "--topic".into(), "advisories".into()];
    args.extend(CSAF.iter().map(|f| fixture(f).display().to_string()));
    let ids = cli_ok(&p, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ids.contains("www.bsi.bund.de:BSI-2022-0001"), "{ids}");
    let mut args = vec!["publish".to_string(), "--topic".into(), "cves".into()];
    args.extend(CVE.iter().map(|f| fixture(f).display().to_string()));
    let ids = cli_ok(&p, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ids.contains("CVE-2022-21658"), "{ids}");

    for f in CSAF.iter().chain(&CVE) {
        let ev = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("item within 10 s")
            .unwrap();
        let GridEvent::Item { envelope, iodef } = &ev else {
            panic!("{f}: {ev:?}");
        };
        let bytes = fixture_bytes(f);
        assert_eq!(envelope.document.as_bytes(), &bytes[..], "{f}: byte-equal");
        let ns = if f.starts_with("csaf") {
            CSAF_2_0_FORMAT
        } else {
            CVE_5_FORMAT
        };
        assert_eq!(envelope.payload_ns, ns, "{f}");
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(iodef.as_ref(), Some(&value), "{f}");
        let line = ev.to_json();
        let member = if f.starts_with("csaf") { "csaf" } else { "cve" };
        assert_eq!(
            line[member], value,
            "{f}: the subscribe line carries \"{member}\""
        );
        assert!(line.get("iodef").is_none());
    }

    let received: Vec<serde_json::Value> = tokio::task::spawn_blocking(move || {
        lines
            .take(CSAF.len())
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect()
    })
    .await
    .unwrap();
    let out = slix.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "slixmpp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (f, r) in CSAF.iter().zip(&received) {
        let el: Element = r["xml"].as_str().unwrap().parse().unwrap();
        assert!(el.is("json", "urn:xmpp:json:0"), "{f}: {}", r["xml"]);
        assert_eq!(
            el.text().as_bytes(),
            &fixture_bytes(f)[..],
            "{f}: slixmpp got the bytes"
        );
    }

    // `gridlink items` prints the kept items as lines with "csaf".
    let out = cli_ok(&p, &["items", "--topic", "advisories", "--max", "1"]);
    let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap_or("{}")).unwrap();
    assert!(line.get("csaf").is_some(), "{out}");
    assert_eq!(line["payload_ns"], CSAF_2_0_FORMAT, "{out}");
}

/// Malformed, trailing-garbage, too deep, oversized, schema-invalid and
/// wrong-type documents: each a clear error, nothing published.
#[tokio::test]
async fn refused_documents_publish_nothing() {
    let p = prosody();
    cli_ok(
        &p,
        &[
            "topic",
            "create",
            "advisories",
            "--payload",
            "csaf",
            "--access-model",
            "open",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    };
    let mut bad: serde_json::Value = serde_json::from_slice(&fixture_bytes(CSAF[0])).unwrap();
    bad["vulnerabilities"][0]["product_status"]["known_affected"] = serde_json::json!(["NOPE"]);
    let deep = format!("{{\"document\": {}{}}}", "[".repeat(100), "]".repeat(100));
    let cases = [
        (
            write(
                "malformed.json",
                b"{\"document\": {\"csaf_version\": \"2.0\"",
            ),
            "not well-formed JSON",
        ),
        (
            fixture("csaf/avendor-advisory-0004-trailing-garbage.json")
                .display()
                .to_string(),
            "trailing characters",
        ),
        (write("deep.json", deep.as_bytes()), "nests deeper than 64"),
        (
            write("mandatory.json", bad.to_string().as_bytes()),
            "6.1.1: product id \"NOPE\"",
        ),
        (
            fixture(CVE[2]).display().to_string(),
            "a cve document, but topic \"advisories\" carries csaf",
        ),
    ];
    for (file, expect) in &cases {
        let out = gridlink(&p, "publisher", "publisher-pw")
            .args(["publish", "--topic", "advisories", file])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file} was accepted");
        assert!(
            err.contains(expect),
            "{file}: expected {expect:?} in:\n{err}"
        );
    }
    let out = gridlink(&p, "publisher", "publisher-pw")
        .args(["publish", "--max-size", "100000", "--topic", "advisories"])
        .arg(fixture(CSAF[1]))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("limit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let publisher = grid(&p, "publisher").await;
    let items = publisher
        .items("advisories", None, None, ValidationLevel::Off)
        .await
        .unwrap();
    assert!(items.is_empty(), "nothing published: {items:?}");
}

/// A foreign publisher (slixmpp, raw) puts a schema-invalid CSAF document
/// in a container: gridlink's subscriber refuses it with the reason.
#[tokio::test]
async fn foreign_invalid_json_is_rejected() {
    let p = prosody();
    cli_ok(
        &p,
        &[
            "topic",
            "create",
            "advisories",
            "--payload",
            "csaf",
            "--access-model",
            "open",
        ],
    );
    let subscriber = grid(&p, "subscriber").await;
    let mut sub = subscriber
        .subscribe(
            TopicSelection::Named(vec!["advisories".into()]),
            ValidationLevel::Strict,
        )
        .await
        .unwrap();
    let mut bad: serde_json::Value = serde_json::from_slice(&fixture_bytes(CSAF[0])).unwrap();
    bad["document"]["tracking"]["current_release_date"] = "yesterday".into();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("raw.xml");
    let text = bad.to_string().replace('&', "&amp;").replace('<', "&lt;");
    std::fs::write(
        &file,
        format!("<json xmlns='urn:xmpp:json:0'>{text}</json>"),
    )
    .unwrap();
    let out = peer(&p, "publish-raw", "publisher")
        .args(["--node", "advisories", "--item-id", "forged"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "slixmpp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("event within 10 s")
        .unwrap();
    match ev {
        GridEvent::Rejected {
            item_id, reason, ..
        } => {
            assert_eq!(item_id, "forged");
            assert!(
                reason.contains("CSAF 2.0") && reason.contains("current_release_date"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}
