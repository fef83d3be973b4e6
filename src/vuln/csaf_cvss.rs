//! CSAF 2.0 mandatory tests 6.1.9 (invalid CVSS computation) and 6.1.10
//! (inconsistent CVSS) for every `cvss_v2` and `cvss_v3` object under
//! `/vulnerabilities[]/scores[]`. The JSON schema (6.1.8) has already checked
//! the objects' shape; here the `vectorString` is the truth, as the standard
//! says it should take precedence: the scores and severities are computed
//! from it (the `cvssrust` crate: CVSS v2, v3.0 and v3.1 with their own
//! rounding) and every metric property present must say what the vector
//! says. A metric the vector leaves out is "Not Defined" (the vector's `X` /
//! `ND`), so a property claiming otherwise is inconsistent too.

use std::collections::BTreeMap;
use std::str::FromStr;

use cvssrust::{v2::V2Vector, v3::V3Vector, CVSSScore, Score};
use serde_json::Value;

/// JSON property, vector abbreviation, (vector value, JSON value) pairs: the
/// FIRST CVSS v3.x JSON schema's names.
type Metric = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const AV3: &[(&str, &str)] = &[
    ("N", "NETWORK"),
    ("A", "ADJACENT_NETWORK"),
    ("L", "LOCAL"),
    ("P", "PHYSICAL"),
];
const LH: &[(&str, &str)] = &[("L", "LOW"), ("H", "HIGH")];
const NLH: &[(&str, &str)] = &[("N", "NONE"), ("L", "LOW"), ("H", "HIGH")];
const NR: &[(&str, &str)] = &[("N", "NONE"), ("R", "REQUIRED")];
const UC: &[(&str, &str)] = &[("U", "UNCHANGED"), ("C", "CHANGED")];
const E3: &[(&str, &str)] = &[
    ("U", "UNPROVEN"),
    ("P", "PROOF_OF_CONCEPT"),
    ("F", "FUNCTIONAL"),
    ("H", "HIGH"),
];
const RL3: &[(&str, &str)] = &[
    ("O", "OFFICIAL_FIX"),
    ("T", "TEMPORARY_FIX"),
    ("W", "WORKAROUND"),
    ("U", "UNAVAILABLE"),
];
const RC3: &[(&str, &str)] = &[("U", "UNKNOWN"), ("R", "REASONABLE"), ("C", "CONFIRMED")];
const LMH: &[(&str, &str)] = &[("L", "LOW"), ("M", "MEDIUM"), ("H", "HIGH")];

const V3_METRICS: &[Metric] = &[
    ("attackVector", "AV", AV3),
    ("attackComplexity", "AC", LH),
    ("privilegesRequired", "PR", NLH),
    ("userInteraction", "UI", NR),
    ("scope", "S", UC),
    ("confidentialityImpact", "C", NLH),
    ("integrityImpact", "I", NLH),
    ("availabilityImpact", "A", NLH),
    ("exploitCodeMaturity", "E", E3),
    ("remediationLevel", "RL", RL3),
    ("reportConfidence", "RC", RC3),
    ("confidentialityRequirement", "CR", LMH),
    ("integrityRequirement", "IR", LMH),
    ("availabilityRequirement", "AR", LMH),
    ("modifiedAttackVector", "MAV", AV3),
    ("modifiedAttackComplexity", "MAC", LH),
    ("modifiedPrivilegesRequired", "MPR", NLH),
    ("modifiedUserInteraction", "MUI", NR),
    ("modifiedScope", "MS", UC),
    ("modifiedConfidentialityImpact", "MC", NLH),
    ("modifiedIntegrityImpact", "MI", NLH),
    ("modifiedAvailabilityImpact", "MA", NLH),
];

const NPC: &[(&str, &str)] = &[("N", "NONE"), ("P", "PARTIAL"), ("C", "COMPLETE")];
const V2_METRICS: &[Metric] = &[
    (
        "accessVector",
        "AV",
        &[("N", "NETWORK"), ("A", "ADJACENT_NETWORK"), ("L", "LOCAL")],
    ),
    (
        "accessComplexity",
        "AC",
        &[("H", "HIGH"), ("M", "MEDIUM"), ("L", "LOW")],
    ),
    (
        "authentication",
        "Au",
        &[("M", "MULTIPLE"), ("S", "SINGLE"), ("N", "NONE")],
    ),
    ("confidentialityImpact", "C", NPC),
    ("integrityImpact", "I", NPC),
    ("availabilityImpact", "A", NPC),
    (
        "exploitability",
        "E",
        &[
            ("U", "UNPROVEN"),
            ("POC", "PROOF_OF_CONCEPT"),
            ("F", "FUNCTIONAL"),
            ("H", "HIGH"),
        ],
    ),
    (
        "remediationLevel",
        "RL",
        &[
            ("OF", "OFFICIAL_FIX"),
            ("TF", "TEMPORARY_FIX"),
            ("W", "WORKAROUND"),
            ("U", "UNAVAILABLE"),
        ],
    ),
    (
        "reportConfidence",
        "RC",
        &[
            ("UC", "UNCONFIRMED"),
            ("UR", "UNCORROBORATED"),
            ("C", "CONFIRMED"),
        ],
    ),
    (
        "collateralDamagePotential",
        "CDP",
        &[
            ("N", "NONE"),
            ("L", "LOW"),
            ("LM", "LOW_MEDIUM"),
            ("MH", "MEDIUM_HIGH"),
            ("H", "HIGH"),
        ],
    ),
    (
        "targetDistribution",
        "TD",
        &[("N", "NONE"), ("L", "LOW"), ("M", "MEDIUM"), ("H", "HIGH")],
    ),
    ("confidentialityRequirement", "CR", LMH),
    ("integrityRequirement", "IR", LMH),
    ("availabilityRequirement", "AR", LMH),
];

/// Runs 6.1.9 and 6.1.10 over every score of every vulnerability.
pub fn run(doc: &Value, out: &mut Vec<String>) {
    let vulns = doc.get("vulnerabilities").and_then(Value::as_array);
    for (v, vuln) in vulns.into_iter().flatten().enumerate() {
        let scores = vuln.get("scores").and_then(Value::as_array);
        for (s, score) in scores.into_iter().flatten().enumerate() {
            let path = format!("/vulnerabilities/{v}/scores/{s}");
            if let Some(cvss) = score.get("cvss_v3") {
                v3(cvss, &format!("{path}/cvss_v3"), out);
            }
            if let Some(cvss) = score.get("cvss_v2") {
                v2(cvss, &format!("{path}/cvss_v2"), out);
            }
        }
    }
}

fn v3(cvss: &Value, path: &str, out: &mut Vec<String>) {
    let Some(vector) = cvss.get("vectorString").and_then(Value::as_str) else {
        return; // the schema requires it
    };
    let Ok(parsed) = V3Vector::from_str(vector) else {
        out.push(format!(
            "6.1.9: {path}/vectorString {vector:?} is not a CVSS v3 vector"
        ));
        return;
    };
    // The prefix names the version: "CVSS:3.1/…".
    let prefix = vector.get(5..8).unwrap_or("");
    if let Some(version) = cvss.get("version").and_then(Value::as_str) {
        if version != prefix {
            out.push(format!(
                "6.1.10: {path}/version {version:?} but the vector is CVSS {prefix}"
            ));
        }
    }
    let groups = [
        ("base", parsed.base_score()),
        ("temporal", parsed.temporal_score()),
        ("environmental", parsed.environmental_score()),
    ];
    for (group, computed) in groups {
        check_score(cvss, path, &format!("{group}Score"), computed, out);
        let key = format!("{group}Severity");
        if let Some(given) = cvss.get(&key).and_then(Value::as_str) {
            let want = computed.severity().to_string().to_uppercase();
            if given != want {
                out.push(format!(
                    "6.1.9: {path}/{key} is {given:?}, the vector gives {want:?}"
                ));
            }
        }
    }
    consistent(
        cvss,
        path,
        metrics(vector.get(9..).unwrap_or("")),
        V3_METRICS,
        "X",
        out,
    );
}

fn v2(cvss: &Value, path: &str, out: &mut Vec<String>) {
    let Some(vector) = cvss.get("vectorString").and_then(Value::as_str) else {
        return;
    };
    let Ok(parsed) = V2Vector::from_str(vector) else {
        out.push(format!(
            "6.1.9: {path}/vectorString {vector:?} is not a CVSS v2 vector"
        ));
        return;
    };
    check_score(cvss, path, "baseScore", parsed.base_score(), out);
    check_score(cvss, path, "temporalScore", parsed.temporal_score(), out);
    check_score(
        cvss,
        path,
        "environmentalScore",
        parsed.environmental_score(),
        out,
    );
    consistent(cvss, path, metrics(vector), V2_METRICS, "ND", out);
}

/// 6.1.9 for one score: the scores have one decimal, so a difference of
/// less than half a tenth is the same score written differently (10 / 10.0).
fn check_score(cvss: &Value, path: &str, key: &str, computed: Score, out: &mut Vec<String>) {
    if let Some(given) = cvss.get(key).and_then(Value::as_f64) {
        let want = computed.value();
        if (given - want).abs() >= 0.05 {
            out.push(format!(
                "6.1.9: {path}/{key} is {given}, the vector gives {want}"
            ));
        }
    }
}

/// The vector's metrics by abbreviation (`AV` → `N`); the crate has parsed
/// the same string already, so it is well-formed.
fn metrics(vector: &str) -> BTreeMap<&str, &str> {
    vector
        .split('/')
        .filter_map(|part| part.split_once(':'))
        .collect()
}

/// 6.1.10: each metric property present says what the vector says.
fn consistent(
    cvss: &Value,
    path: &str,
    vector: BTreeMap<&str, &str>,
    table: &[Metric],
    not_defined: &str,
    out: &mut Vec<String>,
) {
    for (key, abbr, values) in table {
        let Some(given) = cvss.get(*key).and_then(Value::as_str) else {
            continue;
        };
        let letter = vector.get(abbr).copied().unwrap_or(not_defined);
        let want = if letter == not_defined {
            "NOT_DEFINED"
        } else {
            match values.iter().find(|(l, _)| *l == letter) {
                Some((_, name)) => name,
                None => continue, // the crate refused unknown values already
            }
        };
        if given != want {
            out.push(format!(
                "6.1.10: {path}/{key} is {given:?}, the vector says {abbr}:{letter} ({want})"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn run(cvss: serde_json::Value) -> Vec<String> {
        let key = if cvss["version"] == "2.0" {
            "cvss_v2"
        } else {
            "cvss_v3"
        };
        let doc = json!({"vulnerabilities": [{"scores": [{"products": ["P"], key: cvss}]}]});
        let mut out = Vec::new();
        super::run(&doc, &mut out);
        out
    }

    #[test]
    fn consistent_v3_with_temporal_and_environmental_scores_passes() {
        let out = run(json!({
            "version": "3.1",
            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N/E:P/RL:W/RC:C",
            "baseScore": 6.1, "baseSeverity": "MEDIUM",
            "temporalScore": 5.6, "temporalSeverity": "MEDIUM",
            "environmentalScore": 5.6, "environmentalSeverity": "MEDIUM",
            "attackVector": "NETWORK", "scope": "CHANGED",
            "exploitCodeMaturity": "PROOF_OF_CONCEPT",
            "confidentialityRequirement": "NOT_DEFINED",
        }));
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn wrong_temporal_score_and_severity_fail_6_1_9() {
        let out = run(json!({
            "version": "3.1",
            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N/E:P/RL:W/RC:C",
            "baseScore": 6.1, "baseSeverity": "MEDIUM",
            "temporalScore": 6.1, "temporalSeverity": "HIGH",
        }));
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.iter().all(|f| f.starts_with("6.1.9:")), "{out:?}");
    }

    #[test]
    fn property_for_a_metric_the_vector_leaves_out_fails_6_1_10() {
        let out = run(json!({
            "version": "3.1",
            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "baseScore": 9.8, "baseSeverity": "CRITICAL",
            "exploitCodeMaturity": "HIGH",
        }));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].starts_with("6.1.10:") && out[0].contains("E:X"),
            "{out:?}"
        );
    }

    #[test]
    fn version_other_than_the_vectors_fails_6_1_10() {
        let out = run(json!({
            "version": "3.0",
            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "baseScore": 9.8, "baseSeverity": "CRITICAL",
        }));
        assert!(out.iter().any(|f| f.starts_with("6.1.10:")), "{out:?}");
    }

    #[test]
    fn v2_properties_and_scores() {
        let good = run(json!({
            "version": "2.0",
            "vectorString": "AV:N/AC:L/Au:N/C:P/I:P/A:P/E:POC/RL:OF/RC:C",
            "baseScore": 7.5, "temporalScore": 5.9,
            "accessVector": "NETWORK", "authentication": "NONE",
            "exploitability": "PROOF_OF_CONCEPT", "targetDistribution": "NOT_DEFINED",
        }));
        assert!(good.is_empty(), "{good:?}");
        let bad = run(json!({
            "version": "2.0",
            "vectorString": "AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "baseScore": 7.5,
            "accessComplexity": "HIGH",
        }));
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].starts_with("6.1.10:"), "{bad:?}");
    }

    #[test]
    fn vector_that_does_not_parse_is_reported_not_panicked_on() {
        for vector in [
            "CVSS:3.1/AV:Q",
            "CVSS:3.1/",
            "CVSS:3.1/AV:N/AV:N",
            "",
            "CVSS:3.1/:::",
        ] {
            let out = run(json!({"version": "3.1", "vectorString": vector, "baseScore": 1.0}));
            assert!(
                out.iter().any(|f| f.starts_with("6.1.9:")),
                "{vector:?}: {out:?}"
            );
        }
    }
}
