//! # gridlink — an XMPP-Grid (RFC 8600) connector
//!
//! gridlink makes an organisation a full member of an XMPP-Grid: it joins an
//! XMPP server, discovers the IODEF topics the pubsub service offers, publishes
//! and subscribes to incident reports (IODEF v2, RFC 7970; JSON IODEF, RFC 8727)
//! and bridges the grid to the web as a ROLIE repository (RFC 8322).
//!
//! ## Layout
//!
//! * [`envelope`] — the one type sources produce and sinks consume.
//! * [`bridge`] — the router between the grid and the ROLIE repository.
//! * [`config`] — connection settings: TOML file, `GRIDLINK_*` environment, flags.
//! * [`xmpp`] — the session layer: TLS, SASL, reconnect, IQ request/response.
//! * [`grid`] — XMPP-Grid semantics: discovery, topics, publish, subscribe.
//! * [`iodef`] — IODEF v2 document model, validation, RFC 8727 JSON mapping.
//! * [`durable`] — the loss-free layer: publish outbox, subscriber cursors, catch-up, gaps.
//! * [`store`] — the persistent item store (SQLite): dedup, replace, retract, paging cursors.
//! * [`rolie`] — the ROLIE repository (RFC 8322): Atom/AtomPub documents over HTTP.
//! * [`metrics`] — the Prometheus text writer every `/metrics` family goes through.
//! * [`lab`] — a throwaway Prosody for tests, benchmarks and the lab.

#![deny(missing_docs)]

pub mod bridge;
pub mod config;
pub mod durable;
pub mod envelope;
pub mod grid;
pub mod iodef;
pub mod lab;
pub mod memory;
pub mod metrics;
pub mod rolie;
pub mod store;
pub mod xmpp;

pub use config::Config;
pub use envelope::Envelope;
pub use grid::{Grid, GridEvent};
