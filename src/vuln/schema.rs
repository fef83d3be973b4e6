//! The CSAF 2.0 and CVE JSON 5 schemas, embedded (`schema/`, provenance in
//! its README) and compiled once; nothing is ever fetched.

use std::sync::OnceLock;

use jsonschema::{Registry, Validator};
use serde_json::Value;

use super::error::VulnError;

/// At most this many schema problems are reported.
const MAX_PROBLEMS: usize = 10;

const CSAF: &str = include_str!("schema/csaf/csaf_json_schema.json");
const CSAF_CVSS: [(&str, &str); 3] = [
    (
        "https://www.first.org/cvss/cvss-v2.0.json",
        include_str!("schema/csaf/cvss-v2.0.json"),
    ),
    (
        "https://www.first.org/cvss/cvss-v3.0.json",
        include_str!("schema/csaf/cvss-v3.0.json"),
    ),
    (
        "https://www.first.org/cvss/cvss-v3.1.json",
        include_str!("schema/csaf/cvss-v3.1.json"),
    ),
];
const PROVIDER: &str = include_str!("schema/csaf/provider_json_schema.json");
const ROLIE_FEED: &str = include_str!("schema/csaf/ROLIE_feed_json_schema.json");
const CVE: &str = include_str!("schema/cve/CVE_Record_Format.json");
/// The record schema `$ref`s these by opaque `file:` URIs.
const CVE_IMPORTS: [(&str, &str); 7] = [
    (
        "file:imports/cvss/cvss-v2.0.json",
        include_str!("schema/cve/imports/cvss/cvss-v2.0.json"),
    ),
    (
        "file:imports/cvss/cvss-v3.0.json",
        include_str!("schema/cve/imports/cvss/cvss-v3.0.json"),
    ),
    (
        "file:imports/cvss/cvss-v3.1.json",
        include_str!("schema/cve/imports/cvss/cvss-v3.1.json"),
    ),
    (
        "file:imports/cvss/cvss-v4.0.json",
        include_str!("schema/cve/imports/cvss/cvss-v4.0.json"),
    ),
    (
        "file:tags/adp-tags.json",
        include_str!("schema/cve/tags/adp-tags.json"),
    ),
    (
        "file:tags/cna-tags.json",
        include_str!("schema/cve/tags/cna-tags.json"),
    ),
    (
        "file:tags/reference-tags.json",
        include_str!("schema/cve/tags/reference-tags.json"),
    ),
];

/// Which schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// A CSAF 2.0 document.
    Csaf,
    /// A CSAF provider-metadata.json.
    ProviderMetadata,
    /// A CSAF ROLIE feed (JSON form).
    RolieFeed,
    /// A CVE JSON 5 record.
    Cve,
}

impl Schema {
    /// The name in messages.
    pub fn label(self) -> &'static str {
        match self {
            Schema::Csaf => "CSAF 2.0",
            Schema::ProviderMetadata => "CSAF provider metadata",
            Schema::RolieFeed => "CSAF ROLIE feed",
            Schema::Cve => "CVE JSON 5",
        }
    }

    /// Validates `instance`; the problems (at most ten) each
    /// name the JSON pointer of what is wrong.
    pub fn validate(self, instance: &Value) -> Result<(), VulnError> {
        let problems: Vec<String> = self
            .validator()?
            .iter_errors(instance)
            .take(MAX_PROBLEMS)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("{}: {e}", if at.is_empty() { "/" } else { &at })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(VulnError::Schema {
                format: self.label(),
                problems,
            })
        }
    }

    fn validator(self) -> Result<&'static Validator, VulnError> {
        static CELLS: [OnceLock<Result<Validator, String>>; 4] = [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ];
        let cell = &CELLS[self as usize];
        cell.get_or_init(|| self.compile())
            .as_ref()
            .map_err(|e| VulnError::Schema {
                format: self.label(),
                problems: vec![format!("the embedded schema does not compile: {e}")],
            })
    }

    fn compile(self) -> Result<Validator, String> {
        let parse = |text: &str| serde_json::from_str::<Value>(text).map_err(|e| e.to_string());
        let (root, resources): (&str, Vec<(&str, &str)>) = match self {
            Schema::Csaf => (CSAF, CSAF_CVSS.to_vec()),
            Schema::ProviderMetadata => (PROVIDER, [&CSAF_CVSS[..], &[(csaf_id(), CSAF)]].concat()),
            Schema::RolieFeed => (ROLIE_FEED, Vec::new()),
            Schema::Cve => (CVE, CVE_IMPORTS.to_vec()),
        };
        let mut builder = Registry::new();
        for (uri, text) in resources {
            builder = builder.add(uri, parse(text)?).map_err(|e| e.to_string())?;
        }
        let registry = builder.prepare().map_err(|e| e.to_string())?;
        jsonschema::options()
            .offline()
            .should_validate_formats(true)
            .with_registry(&registry)
            .build(&parse(root)?)
            .map_err(|e| e.to_string())
    }
}

fn csaf_id() -> &'static str {
    "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every embedded schema compiles offline.
    #[test]
    fn schemas_compile() {
        for s in [
            Schema::Csaf,
            Schema::ProviderMetadata,
            Schema::RolieFeed,
            Schema::Cve,
        ] {
            s.validator().unwrap_or_else(|e| panic!("{s:?}: {e}"));
        }
    }
}
