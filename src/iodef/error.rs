//! Errors of reading and converting IODEF documents. Validation findings are not errors: they are
//! [`Problem`](super::Problem) values, because an invalid document is still a document.

/// Why bytes could not be turned into a [`Document`](super::Document).
#[derive(Debug, thiserror::Error)]
pub enum IodefError {
    /// The input is larger than [`MAX_INPUT_BYTES`](super::MAX_INPUT_BYTES).
    #[error("input is {size} bytes; the limit is {max} bytes")]
    TooLarge {
        /// Input size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Nesting deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    #[error("line {line}: elements nested deeper than {max} levels")]
    TooDeep {
        /// Line of the element that crossed the limit.
        line: u32,
        /// The limit.
        max: usize,
    },
    /// The input is not UTF-8 (IODEF v2 documents are UTF-8, RFC 7970 §4.1; UTF-16 is not supported).
    #[error("input is not valid UTF-8 (byte offset {offset})")]
    NotUtf8 {
        /// First invalid byte.
        offset: usize,
    },
    /// The XML declaration names an encoding other than UTF-8.
    #[error("unsupported encoding {0:?}: gridlink reads UTF-8 IODEF only")]
    Encoding(String),
    /// A DOCTYPE declaration: refused (no DTD processing, no entity expansion).
    #[error("line {line}: DOCTYPE declarations are not allowed in IODEF documents")]
    Doctype {
        /// Line of the declaration.
        line: u32,
    },
    /// A reference to an entity other than the five predefined ones.
    #[error("line {line}: reference to undeclared entity &{name}; (only the five predefined entities are allowed)")]
    Entity {
        /// Line of the reference.
        line: u32,
        /// Entity name.
        name: String,
    },
    /// Not well-formed XML.
    #[error("line {line}: malformed XML: {message}")]
    Xml {
        /// Line where the problem was found.
        line: u32,
        /// What was wrong.
        message: String,
    },
    /// Not JSON, or JSON that does not follow RFC 8727.
    #[error("JSON {path}: {message}")]
    Json {
        /// JSON pointer-like path of the offending member.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// Neither XML nor JSON.
    #[error("input is neither XML nor JSON (empty or starts with {0:?})")]
    UnknownFormat(String),
    /// An IODEF v1 (RFC 5070) document: recognised, not converted.
    #[error("this is an IODEF v1 document (RFC 5070, namespace urn:ietf:params:xml:ns:iodef-1.0, version {version:?}); gridlink reads IODEF v2 (RFC 7970) only{}", if basic_problems.is_empty() { String::from(" (its v1 basics look fine)") } else { format!("; v1 basics: {}", basic_problems.join("; ")) })]
    V1 {
        /// The document's `version` attribute.
        version: String,
        /// Problems found by the basic v1 check (empty when the v1 basics are fine).
        basic_problems: Vec<String>,
    },
    /// Well-formed XML whose root is not an IODEF v2 `IODEF-Document`.
    #[error("line {line}: root element is {{{ns}}}{name}, not IODEF-Document in urn:ietf:params:xml:ns:iodef-2.0")]
    NotIodef {
        /// Root namespace.
        ns: String,
        /// Root local name.
        name: String,
        /// Root line.
        line: u32,
    },
}

impl IodefError {
    pub(crate) fn xml(line: u32, message: impl Into<String>) -> Self {
        IodefError::Xml {
            line,
            message: message.into(),
        }
    }
    pub(crate) fn json(path: &str, message: impl Into<String>) -> Self {
        IodefError::Json {
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_string()
            },
            message: message.into(),
        }
    }
}
