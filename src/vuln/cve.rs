//! What a CVE JSON 5 record says about itself: the CVE id, its state, the
//! CNA's title or English description, the last update, the highest CVSS
//! score of the CNA and ADP containers.

use serde_json::Value;

use super::error::VulnError;
use super::meta::{collapse, cvss, hashed, plain, Severity, VulnMeta};

/// Summaries are cut to this many characters.
const MAX_SUMMARY: usize = 1000;

/// The metadata of a schema-valid record.
pub fn meta(doc: &Value, _text: &str) -> Result<VulnMeta, VulnError> {
    let s = |p: &str| doc.pointer(p).and_then(Value::as_str);
    let id = s("/cveMetadata/cveId").ok_or_else(|| VulnError::Schema {
        format: "CVE JSON 5",
        problems: vec!["/cveMetadata/cveId is missing".into()],
    })?;
    let state = s("/cveMetadata/state").unwrap_or("PUBLISHED");
    let cna = doc.pointer("/containers/cna");
    let english = |list: Option<&Value>| {
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|d| {
                d.get("lang")
                    .and_then(Value::as_str)
                    .is_some_and(|l| l.starts_with("en"))
            })
            .and_then(|d| d.get("value").and_then(Value::as_str))
            .map(|t| collapse(t, MAX_SUMMARY))
    };
    let summary = english(cna.and_then(|c| c.get("descriptions")))
        .or_else(|| english(cna.and_then(|c| c.get("rejectedReasons"))));
    let title = match cna.and_then(|c| c.get("title")).and_then(Value::as_str) {
        Some(t) => format!("{id}: {}", collapse(t, MAX_SUMMARY)),
        None if state == "REJECTED" => format!("{id} (rejected)"),
        None => id.to_owned(),
    };
    let mut severity: Option<Severity> = None;
    let adp = doc.pointer("/containers/adp").and_then(Value::as_array);
    for container in cna.into_iter().chain(adp.into_iter().flatten()) {
        for m in container
            .get("metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for key in ["cvssV4_0", "cvssV3_1", "cvssV3_0", "cvssV2_0"] {
                if let Some(s) = m.get(key).and_then(cvss) {
                    severity = Severity::max(severity, s);
                }
            }
        }
    }
    let updated = s("/cveMetadata/dateUpdated")
        .or(s("/cveMetadata/datePublished"))
        .or(s("/cveMetadata/dateRejected"))
        .map(str::to_owned);
    Ok(VulnMeta {
        content_id: id.to_owned(),
        item_id: if plain(id) {
            id.to_owned()
        } else {
            hashed("cve", &[id])
        },
        title,
        summary,
        updated,
        severity,
    })
}
