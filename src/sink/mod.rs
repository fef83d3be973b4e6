//! Sinks: where the grid's events go.
//!
//! A [`Sink`] takes each [`GridEvent`](crate::grid::GridEvent) the grid delivers (through a
//! [`GridSource`](crate::source::GridSource)) and answers only once the event
//! is durably handled: written and flushed, stored, accepted by its receiver.
//! The router records an event in the delivery cursor only after every
//! in-line sink has answered `Ok` (and the event is in the journal of the
//! own-cursor sinks), so a crash in between hands the same event out again
//! (each sink must take a repeat calmly: the store by content, files by
//! replacing, JSON lines by printing it once more) and nothing is lost.
//!
//! | sink | module | used by |
//! |---|---|---|
//! | the ROLIE store (Atom feeds) | [`store`] | `gridlink bridge` |
//! | JSON lines (or raw XML) on stdout or a file | [`json_lines`] | `gridlink subscribe`, `[[sink]] type = "json_lines"` |
//! | one file per item in a directory | [`files`] | `gridlink subscribe --out DIR`, `[[sink]] type = "files"` |
//! | syslog over TCP, TLS, UDP (RFC 5424/6587/5425/5426) | [`syslog`] | `subscribe --to syslog://…`, `[[sink]] type = "syslog"` |
//! | HTTP: JSON arrays, Splunk HEC, Elasticsearch `_bulk` | [`http`] | `subscribe --to https://…`, `[[sink]] type = "http"` |
//! | RID Reports to one peer (RFC 6545/6546) | [`crate::rid::sink`] | `[[sink]] type = "rid"` |
//!
//! Remote sinks keep their own cursor ([`Sink::own_cursor`]): the
//! [`Fanout`] puts each event in a journal in the store and runs each of
//! them in its own task from there ([`fanout`]); [`remote`] builds them from
//! a URL, [`tls`] is their TLS client configuration.
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
