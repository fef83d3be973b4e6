//! One CSAF advisory or CVE record: the JSON text as given, its value, and
//! what the grid and the ROLIE feed need of it (ids, title, severity).

use serde_json::Value;

use super::error::VulnError;
use super::kind::PayloadType;
use super::meta::VulnMeta;
use super::schema::Schema;
use super::{csaf, csaf_tests, cve, json};
use crate::iodef::ValidationLevel;

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
