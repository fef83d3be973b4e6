//! RID 2.0 messages (RFC 6545) offline: the seven §7 examples parsed, validated and written back
//! canonical-equal; gridlink's schema verdict equal to Python xmlschema's on every example and variant
//! (tests/fixtures/rid, made by tests/py/rid_make_variants.py); the RFC text rules, each test named
//! after the line of the `rid.md` compliance checklist it covers; `gridlink rid validate`.
//!
//! Python 3 with `xmlschema` is required (tests/requirements.txt); without it these tests fail saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

use gridlink::rid::{self, Enclosed, MsgType, Problem, RidError, Rule, Severity};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let d = root().join("tests/fixtures/rid").join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    v.sort();
    v
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/rid").join(rel)).unwrap()
}

fn python(script: &str, args: &[PathBuf]) -> Vec<serde_json::Value> {
    let out = Command::new("python3")
        .arg(root().join("tests/py").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 is required for the RID tests and could not be run: {e}")
        });
    assert!(
        out.status.success(),
        "{script} failed ({}): {}\n(install with: pip install -r tests/requirements.txt; see scripts/deps)",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("helper output is JSON lines"))
        .collect()
}

/// gridlink's schema verdict: readable, and no schema or enclosed-document error.
fn schema_ok(bytes: &[u8]) -> (bool, String) {
    match rid::check(bytes) {
        Ok((_, probs)) => {
            let bad: Vec<&Problem> = probs
                .iter()
                .filter(|p| p.is_error() && matches!(p.rule, Rule::Schema | Rule::Enclosed))
                .collect();
            (bad.is_empty(), format!("{bad:?}"))
        }
        Err(e) => (false, e.to_string()),
    }
}

fn errors(bytes: &[u8]) -> Vec<Problem> {
    let (_, probs) = rid::check(bytes).unwrap_or_else(|e| panic!("{e}"));
    probs.into_iter().filter(|p| p.is_error()).collect()
}

/// RFC 6545 §7 (checklist 6): every §7 example and variant gets the XSD's verdict from gridlink; the
/// `rfc-*` variants are schema-valid and refused by an RFC text rule; at least 20 invalid variants.
#[test]
fn checklist_06_schema_verdict_agrees_with_xmlschema() {
    let invalid = fixtures("invalid");
    assert!(
        invalid.len() >= 20,
        "need at least 20 invalid variants, have {}",
        invalid.len()
    );
    let mut files = fixtures("examples");
    files.extend(fixtures("valid"));
    files.extend(invalid);
    let mut args = vec![
        root().join("tests/fixtures/rid/schemas"),
        root().join("tests/fixtures/iodef/schemas"),
    ];
    args.extend(files.iter().cloned());
    let verdicts = python("rid_xsd_verdict.py", &args);
    assert_eq!(verdicts.len(), files.len());
    let mut failures = Vec::new();
    for (f, v) in files.iter().zip(&verdicts) {
        assert_eq!(Path::new(v["file"].as_str().unwrap()), f);
        let xsd = v["valid"].as_bool().unwrap();
        let bytes = std::fs::read(f).unwrap();
        let (ours, why) = schema_ok(&bytes);
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if ours != xsd {
            failures.push(format!(
                "{name}: xmlschema {xsd} ({}), gridlink {ours} ({why})",
                v["reason"]
            ));
        }
        if name.starts_with("rfc-") {
            let e = errors(&bytes);
            if e.is_empty() || e.iter().any(|p| !matches!(p.rule, Rule::Rfc(_))) {
                failures.push(format!(
                    "{name}: expected only RFC text rule errors, got {e:?}"
                ));
            }
        } else if xsd && !errors(&bytes).is_empty() {
            failures.push(format!(
                "{name}: schema-valid, but gridlink errors {:?}",
                errors(&bytes)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every §7 example and valid variant: parsed, written, parsed again to the same model, and the
/// written text canonical-equal (C14N 2.0, text edges stripped) to the original (checklist 5: the
/// written form starts with an XML declaration and is UTF-8).
#[test]
fn checklist_05_examples_written_back_canonical_equal() {
    let mut files = fixtures("examples");
    files.extend(fixtures("valid"));
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for f in &files {
        let msg = rid::parse(&std::fs::read(f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let xml = msg.to_xml();
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{xml}"
        );
        let again =
            rid::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}\n{xml}", f.display()));
        assert_eq!(again, msg, "{}", f.display());
        let out = dir.path().join(f.file_name().unwrap());
        std::fs::write(&out, &xml).unwrap();
        written.push(out);
    }
    let mut args = files.clone();
    args.extend(written);
    let c = python("rid_c14n.py", &args);
    let n = files.len();
    for i in 0..n {
        assert_eq!(
            c[i],
            c[n + i],
            "{} not canonical-equal once written",
            files[i].display()
        );
    }
}

/// Checklist 3: the message type comes from RIDPolicy/@MsgType (every §7 example).
#[test]
fn checklist_03_message_type_from_msgtype() {
    let want = [
        ("rfc6545-sec7.1.1-trace-request.xml", MsgType::TraceRequest),
        (
            "rfc6545-sec7.1.2-acknowledgement-approved.xml",
            MsgType::Acknowledgement,
        ),
        ("rfc6545-sec7.1.3-result.xml", MsgType::Result),
        (
            "rfc6545-sec7.2.1-investigation-request.xml",
            MsgType::InvestigationRequest,
        ),
        (
            "rfc6545-sec7.2.2-acknowledgement-denied.xml",
            MsgType::Acknowledgement,
        ),
        ("rfc6545-sec7.3.1-report.xml", MsgType::Report),
        ("rfc6545-sec7.4.1-query.xml", MsgType::Query),
    ];
    for (f, t) in want {
        let m = rid::parse(&fixture(&format!("examples/{f}"))).unwrap();
        assert_eq!(m.msg_type(), Some(t), "{f}");
        assert!(
            m.incident_id()
                .is_some_and(|i| i.starts_with("CERT-FOR-OUR-DOMAIN#")),
            "{f}"
        );
    }
}

/// Checklist 4: the RID 2.0 namespace and a `lang` on the root; RID 1.0 is not RID 2.0.
#[test]
fn checklist_04_namespace_and_lang() {
    assert!(matches!(
        rid::parse(&fixture("invalid/wrong-namespace.xml")),
        Err(RidError::NotRid { .. })
    ));
    let Err(RidError::Invalid(p)) = rid::parse(&fixture("invalid/root-no-lang.xml")) else {
        panic!()
    };
    assert!(p[0].message.contains("lang"), "{p:?}");
}

/// Checklist 5 and 6: UTF-8 only, a missing XML declaration is reported, DTDs are refused.
#[test]
fn checklist_05_06_utf8_declaration_no_dtd() {
    let q = fixture("examples/rfc6545-sec7.4.1-query.xml");
    let (_, p) = rid::check(&q).unwrap();
    assert!(
        p.iter()
            .any(|p| p.rule == Rule::Rfc("§5.5") && p.severity == Severity::Warning),
        "{p:?}"
    );
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(
        String::from_utf8(q.clone())
            .unwrap()
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes()),
    );
    assert!(matches!(rid::parse(&utf16), Err(RidError::Xml(_))));
    let text = String::from_utf8(q).unwrap();
    let xxe = format!("<?xml version=\"1.0\"?>\n<!DOCTYPE RID [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n{text}");
    let e = rid::parse(xxe.as_bytes()).unwrap_err();
    assert!(
        e.to_string().to_lowercase().contains("doctype") || e.to_string().contains("DTD"),
        "{e}"
    );
    let big = vec![b' '; rid::MAX_MESSAGE_BYTES + 1];
    assert!(matches!(rid::parse(&big), Err(RidError::TooLarge { .. })));
}

/// Checklist 7 and 8: IODEF v1 and v2 are both handled inside XMLDocument; an element in an unknown
/// namespace (the §7.1.1 example's IODEF-Document in no namespace) is skipped with a warning.
#[test]
fn checklist_07_08_enclosed_iodef_v1_v2_and_unknown_namespaces() {
    let v2 = rid::parse(&fixture("valid/report-iodef-v2.xml")).unwrap();
    let rs = v2.policy.as_ref().unwrap().report_schema.as_ref().unwrap();
    assert!(matches!(rs.enclosed()[..], [Ok(Enclosed::V2(_))]));
    let v1 = rid::parse(&fixture("examples/rfc6545-sec7.3.1-report.xml")).unwrap();
    let rs = v1.policy.as_ref().unwrap().report_schema.as_ref().unwrap();
    assert!(matches!(rs.enclosed()[..], [Ok(Enclosed::V1(_))]));
    let (_, p) = rid::check(&fixture("examples/rfc6545-sec7.1.1-trace-request.xml")).unwrap();
    assert!(
        p.iter()
            .any(|p| p.rule == Rule::Rfc("§5.6") && !p.is_error()),
        "{p:?}"
    );
    let e = errors(&fixture("invalid/enclosed-v2-no-contact.xml"));
    assert!(
        e.iter()
            .any(|p| p.rule == Rule::Enclosed && p.message.contains("Contact")),
        "{e:?}"
    );
    let e = errors(&fixture("invalid/enclosed-v1-no-contact.xml"));
    assert!(
        e.iter()
            .any(|p| p.rule == Rule::Enclosed && p.message.contains("Contact")),
        "{e:?}"
    );
}

fn rfc_error(file: &str, section: &str) {
    let e = errors(&fixture(&format!("valid/{file}")));
    assert!(
        e.iter()
            .any(|p| matches!(p.rule, Rule::Rfc(s) if s == section)),
        "{file}: expected an RFC 6545 {section} error, got {e:?}"
    );
}

/// Checklist 10 (with the schema variants) and 13: RIDPolicy structure and ext-values.
#[test]
fn checklist_10_13_ridpolicy_structure_and_ext_values() {
    for f in [
        "policy-no-region",
        "policy-no-node",
        "policy-two-nodes",
        "policy-no-traffictype",
        "order-traffic-before-node",
    ] {
        assert!(
            matches!(
                rid::parse(&fixture(&format!("invalid/{f}.xml"))),
                Err(RidError::Invalid(_))
            ),
            "{f}"
        );
    }
    rfc_error("rfc-ext-without-ext-value.xml", "§5");
    rfc_error("rfc-ext-value-without-ext.xml", "§5");
    rfc_error("rfc-no-ridpolicy.xml", "§5");
    assert!(errors(&fixture("valid/query-ext-region.xml")).is_empty());
}

/// Checklist 11 and 12: Node/Address required for RIDSystem and SourceOfIncident.
#[test]
fn checklist_11_12_node_address_by_destination() {
    rfc_error("rfc-ridsystem-without-address.xml", "§5.1");
}

/// Checklist 14: TrafficType Other must be explained.
#[test]
fn checklist_14_traffic_type_other_explained() {
    rfc_error("rfc-traffic-other-unexplained.xml", "§5.1");
}

/// Checklist 15: IncidentID in every message.
#[test]
fn checklist_15_incident_id_in_every_message() {
    rfc_error("rfc-query-without-incidentid.xml", "§6");
}

/// Checklist 16: RequestStatus only (and always) in Acknowledgements; IncidentSource only in Results.
#[test]
fn checklist_16_request_status_only_in_acknowledgements() {
    rfc_error("rfc-query-with-requeststatus.xml", "§5");
    rfc_error("rfc-ack-without-requeststatus.xml", "§6.2");
    rfc_error("rfc-report-with-incidentsource.xml", "§5");
    rfc_error("rfc-result-without-incidentsource.xml", "§6.3");
}

/// Checklist 21: IncidentSource Node holds the IP in Address.
#[test]
fn checklist_21_incident_source_node_address() {
    rfc_error("rfc-incidentsource-node-without-address.xml", "§5.3");
}

/// Checklist 32: NodeName never holds A-labels.
#[test]
fn checklist_32_nodename_u_labels_only() {
    rfc_error("rfc-nodename-a-label.xml", "§11");
}

/// `gridlink rid validate`: exit 0 for a valid message (warnings printed), 1 with reasons for an invalid one.
#[test]
fn cli_rid_validate() {
    let bin = env!("CARGO_BIN_EXE_gridlink");
    let ok = Command::new(bin)
        .args(["rid", "validate"])
        .arg(root().join("tests/fixtures/rid/examples/rfc6545-sec7.3.1-report.xml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success() && text.contains("valid RID Report"),
        "{text}"
    );
    let bad = Command::new(bin)
        .args(["rid", "validate"])
        .arg(root().join("tests/fixtures/rid/invalid/policy-bad-msgtype.xml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(text.contains("MsgType=\"Request\" is not one of"), "{text}");
}
