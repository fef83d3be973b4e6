//! The module's checks over the CSAF and CVE fixtures (`tests/fixtures/`).

use super::*;
use crate::iodef::ValidationLevel;

const MAX: usize = 200 * 1024;

macro_rules! fixture {
    ($dir:literal, $name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../tests/fixtures/", $dir, "/", $name)) as &[u8],
        )
    };
}

const CSAF: [(&str, &[u8]); 5] = [
    fixture!("csaf", "bsi-2022-0001.json"),
    fixture!("csaf", "cisco-sa-20180328-smi2.json"),
    fixture!("csaf", "rhsa-2021_5217.json"),
    fixture!("csaf", "2022-evd-uc-03-ms-001.json"),
    fixture!("csaf", "avendor-advisory-0004.json"),
];
const CVE: [(&str, &[u8]); 4] = [
    fixture!("cve", "full-record-basic-example.json"),
    fixture!("cve", "full-record-advanced-example.json"),
    fixture!("cve", "CVE-2022-21658.json"),
    fixture!("cve", "CVE-2023-5129.json"),
];

#[test]
fn fixtures_validate() {
    for (name, bytes) in CSAF {
        let doc = VulnDocument::parse(bytes, MAX, ValidationLevel::Strict)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.kind, PayloadType::Csaf, "{name}");
        assert_eq!(
            doc.text.as_bytes(),
            bytes,
            "{name}: text kept byte for byte"
        );
    }
    for (name, bytes) in CVE {
        let doc = VulnDocument::parse(bytes, MAX, ValidationLevel::Strict)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.kind, PayloadType::Cve, "{name}");
    }
}

#[test]
fn metadata() {
    let bsi = VulnDocument::parse(CSAF[0].1, MAX, ValidationLevel::Strict).unwrap();
    assert_eq!(bsi.meta.content_id, "BSI-2022-0001");
    assert_eq!(bsi.meta.item_id, "www.bsi.bund.de:BSI-2022-0001");
    let sev = bsi.meta.severity.clone().unwrap();
    assert_eq!(sev.version, "3.1");
    assert!(sev
        .calculator_url()
        .unwrap()
        .starts_with("https://www.first.org/cvss/calculator/3.1#CVSS:3.1/"));
    let rhsa = VulnDocument::parse(CSAF[2].1, MAX, ValidationLevel::Strict).unwrap();
    assert_eq!(rhsa.meta.severity, None);
    let rec = VulnDocument::parse(CVE[2].1, MAX, ValidationLevel::Strict).unwrap();
    assert_eq!(rec.meta.content_id, "CVE-2022-21658");
    assert_eq!(rec.meta.item_id, "CVE-2022-21658");
    assert!(rec.meta.severity.is_some());
    let rejected = VulnDocument::parse(CVE[3].1, MAX, ValidationLevel::Strict).unwrap();
    assert_eq!(rejected.meta.title, "CVE-2023-5129 (rejected)");
}

/// What must be refused: trailing garbage, wrong format, schema errors,
/// a mandatory test, too large.
#[test]
fn refusals() {
    let garbage =
        include_bytes!("../../tests/fixtures/csaf/avendor-advisory-0004-trailing-garbage.json");
    let e = VulnDocument::parse(garbage, MAX, ValidationLevel::Strict).unwrap_err();
    assert!(matches!(e, VulnError::Json(_)), "{e}");
    let e = VulnDocument::parse(br#"{"a": 1}"#, MAX, ValidationLevel::Strict).unwrap_err();
    assert!(matches!(e, VulnError::UnknownFormat), "{e}");
    let e = VulnDocument::parse_as(CVE[0].1, MAX, ValidationLevel::Strict, PayloadType::Csaf)
        .unwrap_err();
    assert!(matches!(e, VulnError::WrongFormat { .. }), "{e}");
    let e = VulnDocument::parse(CSAF[0].1, 100, ValidationLevel::Strict).unwrap_err();
    assert!(matches!(e, VulnError::TooLarge { .. }), "{e}");
    // A bad CVSS severity: the schema.
    let mut v: serde_json::Value = serde_json::from_slice(CSAF[0].1).unwrap();
    v["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseSeverity"] = "HUGE".into();
    let e =
        VulnDocument::parse(v.to_string().as_bytes(), MAX, ValidationLevel::Strict).unwrap_err();
    assert!(matches!(e, VulnError::Schema { .. }), "{e}");
    // A bad date-time: formats are asserted.
    let mut v: serde_json::Value = serde_json::from_slice(CSAF[0].1).unwrap();
    v["document"]["tracking"]["current_release_date"] = "2022-13-45T00:00:00Z".into();
    let e =
        VulnDocument::parse(v.to_string().as_bytes(), MAX, ValidationLevel::Strict).unwrap_err();
    assert!(matches!(e, VulnError::Schema { .. }), "{e}");
    // An undefined product id: 6.1.1 (schema-valid, so only Strict refuses it).
    let mut v: serde_json::Value = serde_json::from_slice(CSAF[0].1).unwrap();
    v["vulnerabilities"][0]["product_status"]["known_affected"] = serde_json::json!(["NOPE-1"]);
    let text = v.to_string();
    let e = VulnDocument::parse(text.as_bytes(), MAX, ValidationLevel::Strict).unwrap_err();
    assert!(
        e.to_string().contains("6.1.1: product id \"NOPE-1\""),
        "{e}"
    );
    assert!(VulnDocument::parse(text.as_bytes(), MAX, ValidationLevel::Basic).is_ok());
    // CVE: an unknown CNA property.
    let mut v: serde_json::Value = serde_json::from_slice(CVE[2].1).unwrap();
    v["containers"]["cna"]["bogus"] = 1.into();
    let e =
        VulnDocument::parse(v.to_string().as_bytes(), MAX, ValidationLevel::Strict).unwrap_err();
    assert!(matches!(e, VulnError::Schema { .. }), "{e}");
}

#[test]
fn provider_metadata_and_feed_schemas() {
    let pm: serde_json::Value = serde_json::from_slice(include_bytes!(
        "../../tests/fixtures/csaf/example-01-provider-metadata.json"
    ))
    .unwrap();
    Schema::ProviderMetadata.validate(&pm).unwrap();
    let feed: serde_json::Value = serde_json::from_slice(include_bytes!(
        "../../tests/fixtures/csaf/example-01-feed-tlp-white.json"
    ))
    .unwrap();
    Schema::RolieFeed.validate(&feed).unwrap();
    assert!(Schema::RolieFeed
        .validate(&serde_json::json!({"feed": 1}))
        .is_err());
}

/// The CSAF TC's own test documents for the §6.1 tests implemented
/// (`tests/fixtures/csaf/tc/`, provenance in its README): each failing
/// example (`-0N`) fails exactly its test, each valid one (`-1N`) passes it.
#[test]
fn csaf_tc_mandatory_test_documents() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/csaf/tc");
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_lowercase();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        if !stem.starts_with("oasis_csaf_tc") {
            continue;
        }
        // …-6-1-XX-YY, or …-6-1-27-XX-YY for the profile tests 6.1.27.XX.
        let nums: Vec<u32> = stem.rsplit('-').map_while(|p| p.parse().ok()).collect();
        let (example, test) = (nums[0], nums[1]);
        let id = match nums.get(2) {
            Some(27) => format!("6.1.27.{test}:"),
            _ => format!("6.1.{test}:"),
        };
        let (_, doc) = crate::vuln::read_json(&std::fs::read(&path).unwrap(), MAX).unwrap();
        let failed = super::csaf_tests::run(&doc);
        let hit = failed.iter().any(|f| f.starts_with(&id));
        match example < 10 {
            true => assert!(hit, "{name} should fail {id} but gives {failed:?}"),
            false => assert!(!hit, "{name} should pass {id} but gives {failed:?}"),
        }
        seen.insert(id);
    }
    assert!(seen.len() >= 20, "{seen:?}");
}
