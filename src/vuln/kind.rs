//! The payload types a topic can carry, and the URIs that name them in
//! `pubsub#type` (our choice: see `docs/payload-types.md`).

use std::fmt;

use crate::envelope::IODEF_V2_NS;

/// `pubsub#type` of a CSAF 2.0 topic: the `$id` of the CSAF 2.0 JSON schema,
/// which names the format and its version (CSAF 2.0 defines no namespace).
pub const CSAF_2_0_FORMAT: &str =
    "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json";
/// `pubsub#type` of a CVE topic: the `$id` of the CVE JSON 5 record schema
/// (the same `$id` for every 5.x version).
pub const CVE_5_FORMAT: &str =
    "https://cveproject.github.io/cve-schema/schema/CVE_Record_Format.json";

/// What a topic's items are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadType {
    /// IODEF v2 XML (RFC 7970), the RFC 8600 default.
    #[default]
    Iodef,
    /// CSAF 2.0 advisories (JSON, in an XEP-0335 container).
    Csaf,
    /// CVE JSON 5 records (JSON, in an XEP-0335 container).
    Cve,
}

impl PayloadType {
    /// The `pubsub#type` value (for IODEF, its XML namespace).
    pub fn uri(self) -> &'static str {
        match self {
            PayloadType::Iodef => IODEF_V2_NS,
            PayloadType::Csaf => CSAF_2_0_FORMAT,
            PayloadType::Cve => CVE_5_FORMAT,
        }
    }

    /// The type a `pubsub#type` value (or an envelope's `payload_ns`) names.
    pub fn from_uri(uri: &str) -> Option<PayloadType> {
        [PayloadType::Iodef, PayloadType::Csaf, PayloadType::Cve]
            .into_iter()
            .find(|t| t.uri() == uri)
    }

    /// The short name: `iodef`, `csaf`, `cve` (also the JSON member of a
    /// `subscribe` line that carries the document as JSON).
    pub fn name(self) -> &'static str {
        match self {
            PayloadType::Iodef => "iodef",
            PayloadType::Csaf => "csaf",
            PayloadType::Cve => "cve",
        }
    }

    /// Whether the documents are JSON, carried in an XEP-0335 container.
    pub fn is_json(self) -> bool {
        !matches!(self, PayloadType::Iodef)
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip() {
        for t in [PayloadType::Iodef, PayloadType::Csaf, PayloadType::Cve] {
            assert_eq!(PayloadType::from_uri(t.uri()), Some(t));
        }
        assert_eq!(PayloadType::from_uri("urn:example"), None);
        assert_eq!(PayloadType::default(), PayloadType::Iodef);
    }
}
