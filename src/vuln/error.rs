//! Why a CSAF or CVE document is refused.

/// Why a JSON vulnerability document cannot be published or was refused.
#[derive(Debug, thiserror::Error)]
pub enum VulnError {
    /// Over the size limit (checked before parsing).
    #[error("JSON document is {size} bytes; the limit is {max} bytes")]
    TooLarge {
        /// Bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Nested deeper than the limit (checked before parsing).
    #[error("JSON nests deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Not well-formed JSON (also: trailing data, duplicate object keys).
    #[error("not well-formed JSON: {0}")]
    Json(String),
    /// Well-formed, but neither format.
    #[error("neither a CSAF 2.0 advisory (document.csaf_version \"2.0\") nor a CVE JSON 5 record (dataType \"CVE_RECORD\", dataVersion 5.x)")]
    UnknownFormat,
    /// A different format than the one required (a topic's type).
    #[error("the document is {found}, not {expected}")]
    WrongFormat {
        /// What the topic carries.
        expected: &'static str,
        /// What the document is.
        found: &'static str,
    },
    /// The JSON schema refused the document.
    #[error("invalid {format} ({} schema problem{}): {}", .problems.len(), if .problems.len() == 1 { "" } else { "s" }, .problems.join("; "))]
    Schema {
        /// `CSAF 2.0` or `CVE JSON 5`.
        format: &'static str,
        /// The first problems, each with its JSON pointer.
        problems: Vec<String>,
    },
    /// CSAF 2.0 §6.1 mandatory tests failed.
    #[error("CSAF 2.0 mandatory tests failed ({} problem{}): {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.join("; "))]
    Mandatory(Vec<String>),
    /// An XEP-0335 container that is not one.
    #[error("not an XEP-0335 JSON container: {0}")]
    Container(String),
}
