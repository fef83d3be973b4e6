//! What the grid and ROLIE take out of a vulnerability document
//! ([`VulnMeta`], [`Severity`]), and the helpers `csaf.rs` and `cve.rs`
//! share to take it out.

use serde_json::Value;

/// A CVSS score a document gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Severity {
    /// `baseScore`.
    pub score: f64,
    /// `baseSeverity`, when given (CVSS v3 and v4).
    pub label: Option<String>,
    /// The CVSS version (`2.0`, `3.0`, `3.1`, `4.0`).
    pub version: String,
    /// `vectorString`.
    pub vector: Option<String>,
}

impl Severity {
    /// A page that shows how the score was reached: FIRST's calculator for
    /// the vector (v3, v4), NVD's for v2; `None` without a vector.
    pub fn calculator_url(&self) -> Option<String> {
        let vector = self.vector.as_deref()?;
        let safe = vector
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '(' | ')'));
        if !safe {
            return None;
        }
        Some(match self.version.as_str() {
            "2.0" => {
                format!("https://nvd.nist.gov/vuln-metrics/cvss/v2-calculator?vector=({vector})")
            }
            v => format!("https://www.first.org/cvss/calculator/{v}#{vector}"),
        })
    }

    /// `CVSS 3.1 base score 9.8 (CRITICAL)`.
    pub fn describe(&self) -> String {
        match &self.label {
            Some(l) => format!("CVSS {} base score {} ({l})", self.version, self.score),
            None => format!("CVSS {} base score {}", self.version, self.score),
        }
    }

    /// The higher of two scores.
    pub(crate) fn max(a: Option<Severity>, b: Severity) -> Option<Severity> {
        match a {
            Some(a) if a.score >= b.score => Some(a),
            _ => Some(b),
        }
    }
}

/// What a vulnerability document says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct VulnMeta {
    /// The ROLIE `content-id`: the CSAF tracking id or the CVE id.
    pub content_id: String,
    /// The pubsub item id (stable per advisory or record: an update replaces).
    pub item_id: String,
    /// A title for people.
    pub title: String,
    /// A one-paragraph summary, when the document has one.
    pub summary: Option<String>,
    /// When the document was last changed, as written in it (RFC 3339).
    pub updated: Option<String>,
    /// The highest CVSS base score it gives.
    pub severity: Option<Severity>,
}

/// Whitespace collapsed and cut to `max` characters.
pub(crate) fn collapse(s: &str, max: usize) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// `s` when it is made of plain characters only (safe and readable as an
/// item id or in a URL path segment).
pub(crate) fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/'))
}

/// `prefix-` and the SHA-256 of the parts (each ended by a NUL).
pub(crate) fn hashed(prefix: &str, parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

/// The CVSS object under `key` (`cvss_v3`, `cvssV3_1`, …) as a severity.
pub(crate) fn cvss(v: &Value) -> Option<Severity> {
    let score = v.get("baseScore").and_then(Value::as_f64)?;
    Some(Severity {
        score,
        label: v
            .get("baseSeverity")
            .and_then(Value::as_str)
            .map(str::to_owned),
        version: v
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        vector: v
            .get("vectorString")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}
