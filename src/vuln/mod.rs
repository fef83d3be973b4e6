//! Vulnerability information on the grid: CSAF 2.0 advisories and CVE JSON
//! 5 records as payload types beside IODEF (issue 28).
//!
//! A topic's `pubsub#type` names its format ([`PayloadType`]); the JSON
//! travels in an XEP-0335 container (`container.rs`), byte for byte as the
//! publisher wrote it. Every document from outside is read bounded
//! (`json.rs`), validated against the embedded schemas (`schema.rs`) and,
//! for CSAF, the offline mandatory tests (`csaf_tests.rs`, with
//! `csaf_tracking.rs`, `csaf_vuln_tests.rs` and `csaf_cvss.rs`); `csaf.rs` and
//! `cve.rs` take out what the grid and ROLIE need (item id, content-id,
//! title, severity). Files, each using only those listed before it: `kind`,
//! `error`, `json`, `container`, `schema`, `csaf_tracking`, `csaf_vuln_tests`, `csaf_cvss`,
//! `csaf_tests`, `meta`, `csaf`, `cve`,
//! `document`.

mod container;
mod csaf;
mod csaf_cvss;
mod csaf_tests;
mod csaf_tracking;
mod csaf_vuln_tests;
mod cve;
mod document;
mod error;
mod json;
mod kind;
mod meta;
mod schema;

pub use container::{
    is_container, unwrap as unwrap_container, wrap as wrap_container, JSON_CONTAINER_NS,
};
pub use csaf::item_id as csaf_item_id;
pub use document::{detect, looks_like_json, VulnDocument};
pub use error::VulnError;
pub use json::{read as read_json, MAX_DEPTH};
pub use kind::{PayloadType, CSAF_2_0_FORMAT, CVE_5_FORMAT};
pub use meta::{Severity, VulnMeta};
pub use schema::Schema;

#[cfg(test)]
mod tests;
