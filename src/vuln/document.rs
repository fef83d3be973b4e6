//! One CSAF advisory or CVE record: the JSON text as given, its value, and
//! what the grid and the ROLIE feed need of it (ids, title, severity).

use serde_json::Value;

use super::error::VulnError;
use super::kind::PayloadType;
use super::schema::Schema;
use super::{csaf, csaf_tests, cve, json};
use crate::iodef::ValidationLevel;

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

/// A parsed and checked CSAF advisory or CVE record.
#[derive(Debug, Clone)]
pub struct VulnDocument {
    /// CSAF or CVE.
    pub kind: PayloadType,
    /// The JSON text as given (what the grid carries, byte for byte).
    pub text: String,
    /// The parsed value.
    pub value: Value,
    /// Ids, title, severity.
    pub meta: VulnMeta,
}

/// Which format a JSON value is: CSAF (`document.csaf_version` is `2.0`) or
/// CVE (`dataType` is `CVE_RECORD` with a 5.x `dataVersion`).
pub fn detect(value: &Value) -> Option<PayloadType> {
    if value
        .pointer("/document/csaf_version")
        .and_then(Value::as_str)
        == Some("2.0")
    {
        return Some(PayloadType::Csaf);
    }
    let version = value
        .get("dataVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if value.get("dataType").and_then(Value::as_str) == Some("CVE_RECORD")
        && version.starts_with("5.")
    {
        return Some(PayloadType::Cve);
    }
    None
}

/// Whether `bytes` look like JSON (the first non-blank byte is `{`): the
/// test that decides between the JSON formats and IODEF (XML, or RFC 8727
/// JSON, which [`detect`] does not claim).
pub fn looks_like_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

impl VulnDocument {
    /// Reads `bytes` (within `max_size`), detects the format and checks it:
    /// `Off` only parses, `Basic` adds the JSON schema, `Strict` (the
    /// default) also the CSAF mandatory tests.
    pub fn parse(
        bytes: &[u8],
        max_size: usize,
        level: ValidationLevel,
    ) -> Result<VulnDocument, VulnError> {
        let (text, value) = json::read(bytes, max_size)?;
        let kind = detect(&value).ok_or(VulnError::UnknownFormat)?;
        let schema = match kind {
            PayloadType::Csaf => Schema::Csaf,
            _ => Schema::Cve,
        };
        if level != ValidationLevel::Off {
            schema.validate(&value)?;
        }
        if level == ValidationLevel::Strict && kind == PayloadType::Csaf {
            let failed = csaf_tests::run(&value);
            if !failed.is_empty() {
                return Err(VulnError::Mandatory(failed));
            }
        }
        let meta = match kind {
            PayloadType::Csaf => csaf::meta(&value, text)?,
            _ => cve::meta(&value, text)?,
        };
        Ok(VulnDocument {
            kind,
            text: text.to_owned(),
            value,
            meta,
        })
    }

    /// [`VulnDocument::parse`], refusing a document of another format than
    /// `expected`.
    pub fn parse_as(
        bytes: &[u8],
        max_size: usize,
        level: ValidationLevel,
        expected: PayloadType,
    ) -> Result<VulnDocument, VulnError> {
        let doc = Self::parse(bytes, max_size, level)?;
        if doc.kind != expected {
            return Err(VulnError::WrongFormat {
                expected: expected.name(),
                found: doc.kind.name(),
            });
        }
        Ok(doc)
    }
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
