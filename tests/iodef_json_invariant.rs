//! The invariant of issue 21: every document strict validation accepts
//! converts to JSON that validates against the RFC 8727 JSON schema
//! (`tests/py/iodef_json_check.py`), with no exception. Over every fixture
//! and over the mutated corpus of `benches/iodef_diff.rs` (its generator,
//! included as a module).

use std::path::{Path, PathBuf};
use std::process::Command;

use gridlink::iodef;

#[path = "../benches/iodef_diff.rs"]
#[allow(dead_code, clippy::cmp_owned)]
mod diff;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

#[test]
fn strictly_valid_documents_give_schema_valid_json() {
    let dir = root().join("tests/fixtures/iodef");
    let mut xml = Vec::new();
    diff::files(&dir, "xml", &mut xml);
    let mut docs = Vec::new();
    for f in &xml {
        let src = std::fs::read_to_string(f).unwrap();
        docs.push(src.clone());
        diff::mutations(&src, &mut docs);
    }
    let mut json = Vec::new();
    diff::files(&dir, "json", &mut json);
    docs.extend(json.iter().map(|f| std::fs::read_to_string(f).unwrap()));

    let out = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    let mut sources = Vec::new();
    for d in &docs {
        let Ok(doc) = iodef::parse(d.as_bytes()) else {
            continue;
        };
        if !doc.validate().is_empty() {
            continue;
        }
        let p = out.path().join(format!("{}.json", written.len()));
        std::fs::write(&p, doc.to_json_string()).unwrap();
        written.push(p);
        sources.push(d);
    }
    assert!(written.len() > 100, "only {} accepted", written.len());

    let schema =
        root().join("tests/fixtures/iodef/schemas/rfc8727-appB-iodef-json-schema.unwrapped.json");
    let mut failures = Vec::new();
    for chunk in written.chunks(2000) {
        let o = Command::new("python3")
            .arg(root().join("tests/py/iodef_json_check.py"))
            .arg(&schema)
            .args(chunk)
            .output()
            .expect("python3 is required (pip install -r tests/requirements.txt)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let file = v["file"].as_str().unwrap();
            let errs: Vec<&str> = v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e.as_str())
                .collect();
            if !errs.is_empty() {
                let i: usize = Path::new(file)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                // The document itself is in the failure only as far as it
                // differs from its fixture, so give the errors and its size.
                failures.push(format!(
                    "{errs:?} (document {i}, {} bytes)",
                    sources[i].len()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} accepted documents give JSON the RFC 8727 schema rejects:\n{}",
        failures.len(),
        written.len(),
        failures[..failures.len().min(15)].join("\n")
    );
}
