//! What a CSAF 2.0 advisory says about itself: tracking id and publisher
//! namespace (its identity, CSAF 2.0 §3.2.1.12 and §3.2.1.8.3), title,
//! summary note, current release date, highest CVSS score.

use serde_json::Value;

use super::error::VulnError;
use super::meta::{collapse, cvss, hashed, plain, Severity, VulnMeta};

/// Summaries are cut to this many characters.
const MAX_SUMMARY: usize = 1000;

/// The metadata of a schema-valid advisory.
pub fn meta(doc: &Value, _text: &str) -> Result<VulnMeta, VulnError> {
    let s = |p: &str| doc.pointer(p).and_then(Value::as_str);
    let missing = |p: &str| VulnError::Schema {
        format: "CSAF 2.0",
        problems: vec![format!("{p} is missing")],
    };
    let id = s("/document/tracking/id").ok_or_else(|| missing("/document/tracking/id"))?;
    let namespace = s("/document/publisher/namespace")
        .ok_or_else(|| missing("/document/publisher/namespace"))?;
    let summary = doc
        .pointer("/document/notes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|n| n.get("category").and_then(Value::as_str) == Some("summary"))
        .and_then(|n| n.get("text").and_then(Value::as_str))
        .map(|t| collapse(t, MAX_SUMMARY));
    let mut severity: Option<Severity> = None;
    for v in doc
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for score in v
            .get("scores")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for key in ["cvss_v3", "cvss_v2"] {
                if let Some(s) = score.get(key).and_then(cvss) {
                    severity = Severity::max(severity, s);
                }
            }
        }
    }
    Ok(VulnMeta {
        content_id: id.to_owned(),
        item_id: item_id(namespace, id),
        title: collapse(s("/document/title").unwrap_or(id), MAX_SUMMARY),
        summary,
        updated: s("/document/tracking/current_release_date").map(str::to_owned),
        severity,
    })
}

/// `www.example.com:EX-2024-0001`: the publisher namespace without its
/// scheme and final `/`, a colon, the tracking id (two publishers may use
/// the same tracking id; one publisher never twice). Unusual characters
/// give `csaf-` and a hash of both instead.
pub fn item_id(namespace: &str, tracking_id: &str) -> String {
    let ns = namespace
        .split_once("://")
        .map_or(namespace, |(_, rest)| rest)
        .trim_end_matches('/');
    let ns = ns.to_ascii_lowercase();
    if plain(&ns) && plain(tracking_id) && !tracking_id.contains('/') {
        format!("{ns}:{tracking_id}")
    } else {
        hashed("csaf", &[namespace, tracking_id])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids() {
        assert_eq!(
            item_id("https://www.bsi.bund.de", "WID-SEC-W-2022-0001"),
            "www.bsi.bund.de:WID-SEC-W-2022-0001"
        );
        assert_eq!(
            item_id("https://Example.com/csaf/", "A-1"),
            "example.com/csaf:A-1"
        );
        let odd = item_id("https://example.com", "a b");
        assert!(odd.starts_with("csaf-"), "{odd}");
        assert_eq!(odd, item_id("https://example.com", "a b"));
    }
}
