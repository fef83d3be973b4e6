//! Sinks: where the grid's events go.
//!
//! A [`Sink`] takes each [`GridEvent`](crate::grid::GridEvent) the grid delivers (through a
//! [`GridSource`](crate::source::GridSource)) and answers only once the event
//! is durably handled: written and flushed, stored, accepted by its receiver.
//! The router records an event in the delivery cursor only after every sink
//! has answered `Ok`, so a crash in between hands the same event out again
//! (each sink must take a repeat calmly: the store by content, files by
//! replacing, JSON lines by printing it once more) and nothing is lost.
//!
//! | sink | module | used by |
//! |---|---|---|
//! | the ROLIE store (Atom feeds) | [`store`] | `gridlink bridge` |
//! | JSON lines (or raw XML) on stdout or a file | [`json_lines`] | `gridlink subscribe`, `[[sink]] type = "json_lines"` |
//! | one file per item in a directory | [`files`] | `gridlink subscribe --out DIR`, `[[sink]] type = "files"` |
//!
//! Adding a sink is one module here plus one [`SinkConfig`] variant (see
//! ARCHITECTURE.md, "Adding a sink").

mod config;
mod deliver;
pub mod fanout;
pub mod files;
pub mod http;
pub mod json_lines;
pub mod remote;
pub mod store;
pub mod syslog;
pub mod tls;

pub use config::SinkConfig;
pub use deliver::{deliver_all, Batching, BoxFuture, Format, Outcome, Sink, SinkError};
pub use fanout::{Fanout, FanoutOptions, SinkMonitor};
pub use files::FilesSink;
pub use json_lines::JsonLinesSink;
pub use store::StoreSink;
