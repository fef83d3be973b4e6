//! The RFC 8727 JSON form of IODEF documents, driven by the schema table.
//!
//! * `members.rs`: the member layout (which JSON member each attribute and child becomes, the
//!   RFC 8727 §3.2 special cases): what the three directions below share;
//! * `read.rs`: JSON → the document arena ([`from_value`]);
//! * `view.rs`: XML → JSON as a `serde::Serialize` view ([`JsonView`]): `Document::to_json`'s
//!   `Value`, and the reference the text writer is tested against;
//! * `write.rs`: XML → compact JSON text into one buffer ([`Writer`]), from the per-declaration
//!   layouts of `write_plan.rs`, with strings escaped by `escape.rs`; byte-identical to the view's
//!   text, to which it falls back for what its layouts cannot say.
//!
//! Imports run `write` → `write_plan`, `view`, `escape`; `read`, `view`, `write_plan` → `members`.
//! This file only re-exports.

mod escape;
mod members;
mod read;
mod view;
mod write;
mod write_plan;

pub(crate) use read::from_value;
pub(crate) use view::{required_default, JsonView};
pub(crate) use write::Writer;
