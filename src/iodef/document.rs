//! [`Document`]: a parsed IODEF v2 document, and [`parse`], which makes one from XML or JSON
//! bytes; with the validation level and source format types its methods take and give. Reading,
//! validation and writing are delegated to `xml/`, `json/` and `validate/`; the canonical form to
//! `canonical.rs`. `Document`'s summary accessors live in `summary.rs` and `redact` in `redact.rs`
//! (files above this one), and [`Builder::finish`] here (the arena below does not know `Document`).

use std::str::FromStr;

use crate::iodef::arena::{self, Builder, Element};
use crate::iodef::error::IodefError;
use crate::iodef::schema::{self, NS_IODEF, NS_IODEF_V1};
use crate::iodef::validate::{self, Problem};
use crate::iodef::xml::{self, MAX_INPUT_BYTES};
use crate::iodef::{canonical, json};

/// How much validation a caller wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ValidationLevel {
    /// XSD (errata-corrected) and RFC 7970 text rules: [`Document::validate`].
    #[default]
    Strict,
    /// Namespace, version and the required core of each Incident: [`Document::validate_basic`].
    Basic,
    /// No validation.
    Off,
}

impl FromStr for ValidationLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "strict" => Ok(ValidationLevel::Strict),
            "basic" => Ok(ValidationLevel::Basic),
            "off" | "none" => Ok(ValidationLevel::Off),
            _ => Err(format!(
                "unknown validation level {s:?} (strict, basic, off)"
            )),
        }
    }
}

/// Which syntax a document was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    /// RFC 7970 XML.
    Xml,
    /// RFC 8727 JSON.
    Json,
}

/// A parsed IODEF v2 document: the `IODEF-Document` element tree, held in one arena that owns a copy
/// of the input text (see `src/iodef/README.md`, Model).
#[derive(Clone)]
pub struct Document {
    tree: arena::Tree,
    format: SourceFormat,
}

/// Structural equality of the element trees (and the source format), whatever their arena layout.
impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        self.format == other.format && self.root() == other.root()
    }
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("root", &self.root())
            .field("format", &self.format)
            .finish()
    }
}

/// Reads an IODEF v2 document from XML or RFC 8727 JSON (detected from the first non-blank byte).
pub fn parse(bytes: &[u8]) -> Result<Document, IodefError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(IodefError::TooLarge {
            size: bytes.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    if bytes.starts_with(&[0xFE, 0xFF]) || bytes.starts_with(&[0xFF, 0xFE]) {
        return Err(IodefError::Encoding("UTF-16".into()));
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| IodefError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    match text.trim_start().chars().next() {
        Some('<') => Document::from_xml(text),
        Some('{') => Document::from_json_str(text),
        other => Err(IodefError::UnknownFormat(
            other.map(String::from).unwrap_or_default(),
        )),
    }
}

impl Document {
    /// Parses XML text.
    pub fn from_xml(text: &str) -> Result<Document, IodefError> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(IodefError::TooLarge {
                size: text.len(),
                max: MAX_INPUT_BYTES,
            });
        }
        let tree = xml::parse_xml(text)?;
        let root = tree.root();
        if root.ns() == NS_IODEF_V1
            || (root.name() == "IODEF-Document"
                && root.attr("version").is_some_and(|v| v.starts_with("1.")))
        {
            return Err(IodefError::V1 {
                version: root.attr("version").unwrap_or("").to_string(),
                basic_problems: validate::v1_basic_problems(root),
            });
        }
        Document::from_tree(tree, SourceFormat::Xml)
    }

    /// Wraps a tree whose root must be `IODEF-Document` in the v2 namespace.
    fn from_tree(tree: arena::Tree, format: SourceFormat) -> Result<Document, IodefError> {
        let root = tree.root();
        if root.ns() != NS_IODEF || root.name() != "IODEF-Document" {
            return Err(IodefError::NotIodef {
                ns: root.ns().to_string(),
                name: root.name().to_string(),
                line: root.line(),
            });
        }
        Ok(Document { tree, format })
    }

    /// Parses RFC 8727 JSON text.
    pub fn from_json_str(text: &str) -> Result<Document, IodefError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| IodefError::json("", e.to_string()))?;
        Document::from_json(&v)
    }

    /// Builds a document from an RFC 8727 JSON value.
    pub fn from_json(v: &serde_json::Value) -> Result<Document, IodefError> {
        let mut b = Builder::new();
        json::from_value(v, schema::ROOT, "", &mut b)?;
        Document::from_tree(b.finish_tree()?, SourceFormat::Json)
    }

    /// A document made of a copy of `root` (an `IODEF-Document` element in the v2 namespace, from
    /// any document).
    pub fn from_root(root: Element<'_>) -> Result<Document, IodefError> {
        let mut b = Builder::new();
        b.copy(root, true);
        b.finish()
    }

    /// The `IODEF-Document` element.
    pub fn root(&self) -> Element<'_> {
        self.tree.root()
    }

    /// The syntax this document was read from.
    pub fn source_format(&self) -> SourceFormat {
        self.format
    }

    /// Full validation (errata-corrected XSD + RFC 7970 text rules). Empty means valid.
    pub fn validate(&self) -> Vec<Problem> {
        validate::validate(self.root())
    }

    /// Structure, namespace and version only. Empty means acceptable.
    pub fn validate_basic(&self) -> Vec<Problem> {
        validate::validate_basic(self.root())
    }

    /// Validation at the given level.
    pub fn check(&self, level: ValidationLevel) -> Vec<Problem> {
        match level {
            ValidationLevel::Strict => self.validate(),
            ValidationLevel::Basic => self.validate_basic(),
            ValidationLevel::Off => Vec::new(),
        }
    }

    /// XML: one root element, no XML declaration, comments or processing instructions (fit for an
    /// XMPP stanza). The IODEF namespace is the default namespace.
    pub fn to_xml(&self) -> String {
        xml::to_string(self.root())
    }

    /// The RFC 8727 JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        // `to_value` fails only for map keys that are not strings, which the view never writes.
        serde_json::to_value(self.json_view()).unwrap_or_default()
    }

    /// The RFC 8727 JSON form as compact JSON text, written without building a `serde_json::Value`
    /// (the same text as `to_json().to_string()`, several times faster).
    pub fn to_json_string(&self) -> String {
        match self.json_bytes() {
            // The writer writes only `str`s and ASCII punctuation.
            Ok(out) => String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            // Cannot happen: writing to a Vec does not fail, and only string keys are written.
            Err(_) => self.to_json().to_string(),
        }
    }

    /// Streams the RFC 8727 JSON form (compact) to `w`.
    pub fn write_json<W: std::io::Write>(&self, mut w: W) -> std::io::Result<()> {
        let out = self.json_bytes().map_err(std::io::Error::from)?;
        w.write_all(&out)
    }

    /// The JSON text, written by `json::Writer` into one buffer.
    fn json_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        // RFC 8727 JSON is usually somewhat smaller than the XML it comes from.
        let mut w = json::Writer::new(self.tree.buf.len());
        w.element(self.root(), schema::ROOT)?;
        Ok(w.out)
    }

    fn json_view(&self) -> json::JsonView<'_> {
        json::JsonView {
            el: self.root(),
            di: schema::ROOT,
        }
    }

    /// A normalised copy for comparison: no source lines or prefixes, `xsi:` attributes dropped,
    /// typed values whitespace-collapsed and numbers normalised, ignorable whitespace removed, and
    /// children of repeated choices grouped in schema order (RFC 8727 JSON cannot keep their
    /// interleaving; IODEF gives it no meaning), and the Flows of one EventData merged into one
    /// (RFC 8727 §3.2 deletes the Flow class, so its grouping cannot survive JSON).
    pub fn canonical(&self) -> Document {
        let mut b = Builder::new();
        canonical::canonical(self.root(), Some(schema::ROOT), &mut b);
        match b.finish_tree() {
            Ok(tree) => Document {
                tree,
                format: self.format,
            },
            // Cannot happen: the copy of a document is smaller than the document.
            Err(_) => self.clone(),
        }
    }
}

impl Builder {
    /// The finished document (its root must be `IODEF-Document` in the v2 namespace).
    pub fn finish(self) -> Result<Document, IodefError> {
        Document::from_tree(self.finish_tree()?, SourceFormat::Xml)
    }
}
