//! XML in and out of the document arena.
//!
//! * `read.rs`: the reader's entry points ([`parse_xml`], [`parse_fragment`]) and quick-xml's event
//!   loop; `parser.rs`: its state and what each start tag and text becomes (namespaces resolved by
//!   hand); `scan.rs`: the byte scanner under both (attribute scan, references, unescaping);
//!   `limits.rs`: the input size and nesting caps;
//! * `write.rs`: the writer ([`to_string`], [`write_content`]).
//!
//! Imports run `read` → `parser` → `scan`, and `read`/`parser` → `limits`; `write` stands alone.
//! This file only re-exports.

mod limits;
mod parser;
mod read;
mod scan;
mod write;

pub use limits::{MAX_DEPTH, MAX_INPUT_BYTES};
pub(crate) use read::{parse_fragment, parse_xml};
pub(crate) use write::{to_string, write_content};
