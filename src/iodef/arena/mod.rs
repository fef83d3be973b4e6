//! The document tree: one arena per document (`store.rs`: the node, attribute and string records),
//! the borrowed views the crate and the public API read it through (`view.rs`: [`Element`],
//! [`Node`], [`Attribute`], [`Children`]), and [`Builder`] (`builder.rs`), which makes a tree
//! element by element. `view.rs` imports `store.rs`, `builder.rs` both; this file only re-exports.

mod builder;
mod store;
mod view;

pub use builder::Builder;
pub(crate) use store::{known_static, AttrData, Str, Tree};
pub use view::{Attribute, Children, Element, Node};
