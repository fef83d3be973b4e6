//! IODEF v2 (RFC 7970) documents and their RFC 8727 JSON form.
//!
//! * [`parse`] reads XML or JSON (detected), refusing DTDs, foreign entities, oversize and overdeep input,
//!   and recognising IODEF v1 (RFC 5070) as such ([`IodefError::V1`]).
//! * [`Document::validate`] checks the errata-corrected RFC 7970 XSD (interpreted from a table generated
//!   from it, `schema/generated.rs`) plus the RFC 7970 text rules; [`Document::validate_basic`] is the
//!   cheap check.
//! * [`Document::to_xml`] / [`Document::to_json`] serialise; both directions are lossless for
//!   schema-valid documents up to the documented exceptions (see `src/iodef/README.md`).
//!
//! Layout, lowest first (a file or folder imports only those before it; this file only declares
//! and re-exports, and nothing imports it):
//! * `bytes.rs`: word-at-a-time byte tests; `error.rs`: [`IodefError`];
//! * `schema/`: the XSD as data (the generated table, name and declaration lookups, simple types,
//!   attribute tables);
//! * `arena/`: the document tree (one arena of records, the [`Element`]/[`Node`]/[`Attribute`]
//!   views, [`Builder`]);
//! * `xml/`: the XML reader (with its byte scanner and limits) and writer;
//! * `validate/`: strict validation (XSD walk, content models, RFC text and xmldsig rules), the
//!   basic check, [`Problem`];
//! * `json/`: the RFC 8727 binding (member layout, JSON → tree, the `Serialize` view, the text
//!   writer);
//! * `canonical.rs` (the canonical form), `expression.rs` ([`evaluate_expression`]);
//! * `document.rs`: [`Document`] and [`parse`];
//! * `summary.rs` ([`Incident`], [`IncidentId`], [`Summary`]) and `redact.rs` ([`Redaction`]),
//!   which add their accessors to [`Document`].

mod arena;
mod bytes;
mod canonical;
mod document;
mod error;
mod expression;
mod json;
mod redact;
mod schema;
mod summary;
mod validate;
mod xml;

pub use arena::{Attribute, Builder, Children, Element, Node};
pub use document::{parse, Document, SourceFormat, ValidationLevel};
pub use error::IodefError;
pub use expression::evaluate_expression;
pub use redact::{Redacted, Redaction};
pub use schema::{NS_DS, NS_ENUM, NS_IODEF, NS_IODEF_V1, NS_SCI};
pub use summary::{Incident, IncidentId, IncidentSummary, Summary};
pub use validate::{Problem, RuleSource};
pub use xml::{MAX_DEPTH, MAX_INPUT_BYTES};
// The RID envelope (`crate::rid`) reads its XML with the same hardened reader (no DTD, limits).
pub(crate) use xml::parse_xml;
