//! # gridlink — an XMPP-Grid (RFC 8600) connector
//!
//! gridlink makes an organisation a full member of an XMPP-Grid: it joins an
//! XMPP server, discovers the IODEF topics the pubsub service offers, publishes
//! and subscribes to incident reports (IODEF v2, RFC 7970; JSON IODEF, RFC 8727)
//! and bridges the grid to the web as a ROLIE repository (RFC 8322).
//!
//! ## Publish
//!
//! ```no_run
//! use gridlink::{Config, Grid, Payload, TopicOptions, ValidationLevel, DEFAULT_MAX_PAYLOAD};
//!
//! # async fn publish() -> anyhow::Result<()> {
//! let grid = Grid::connect(Config::from_env()?).await?; // GRIDLINK_JID, GRIDLINK_PASSWORD, …
//! grid.ensure_topic("incidents", &TopicOptions::default()).await?;
//! let bytes = std::fs::read("incident.xml")?; // IODEF v2 XML or RFC 8727 JSON
//! let payload = Payload::prepare(&bytes, ValidationLevel::Strict, DEFAULT_MAX_PAYLOAD)?;
//! let item_id = grid.publish("incidents", &payload).await?; // once the broker confirmed
//! println!("published {item_id}");
//! grid.close().await;
//! # Ok(()) }
//! ```
//!
//! ## Subscribe, loss-free
//!
//! ```no_run
//! use gridlink::{Config, Follower, Grid, Store, TopicSelection, ValidationLevel};
//!
//! # async fn subscribe() -> anyhow::Result<()> {
//! let grid = Grid::connect(Config::from_env()?).await?;
//! let cursor = Store::open("cursor.sqlite")?; // what was delivered, across restarts
//! let mut follower =
//!     Follower::start(&grid, TopicSelection::AllIodef, ValidationLevel::Basic, cursor).await?;
//! while let Some(ev) = follower.next().await {
//!     println!("{}", ev.to_json()); // items carry the RFC 8727 JSON
//!     follower.delivered(&ev).await?; // recorded once handled: a crash repeats, never loses
//! }
//! # Ok(()) }
//! ```
//!
//! ## Layout
//!
//! * [`envelope`] — the one type sources produce and sinks consume.
//! * [`source`] — where documents and events come from: the XMPP follow
//!   ([`GridSource`]), AtomPub POSTs, feed polling ([`Source`]).
//! * [`sink`] — where the grid's events go ([`Sink`]): the ROLIE store, JSON
//!   lines, files.
//! * [`bridge`] — the router between the grid and the ROLIE repository,
//!   assembled from sources and sinks.
//! * [`config`] — connection settings: TOML file, `GRIDLINK_*` environment, flags.
//! * [`xmpp`] — the session layer: TLS, SASL, reconnect, IQ request/response.
//! * [`grid`] — XMPP-Grid semantics: discovery, topics, publish, subscribe.
//! * [`iodef`] — IODEF v2 document model, validation, RFC 8727 JSON mapping.
//! * [`durable`] — the loss-free layer: publish outbox, subscriber cursors, catch-up, gaps.
//! * [`store`] — the persistent item store (SQLite): dedup, replace, retract, paging cursors.
//! * [`rolie`] — the ROLIE repository (RFC 8322): Atom/AtomPub documents over HTTP.
//! * [`metrics`] — the Prometheus text writer every `/metrics` family goes through.
//! * [`vuln`] — CSAF 2.0 advisories and CVE JSON 5 records as payload types.
//!
//! The `lab` feature (on by default) adds a throwaway Prosody and ejabberd
//! for tests, the lab and the benchmarks; it is not part of the documented
//! API.

#![deny(missing_docs)]

pub mod bridge;
pub mod config;
pub mod durable;
pub mod envelope;
pub mod grid;
pub mod iodef;
pub mod metrics;
pub mod rolie;
pub mod sink;
pub mod source;
pub mod store;
pub mod vuln;
// The analyst's HTML pages, mounted by the ROLIE server (`rolie/pages.rs`).
pub(crate) mod web;
pub mod xmpp;

#[cfg(feature = "lab")]
#[doc(hidden)]
pub mod lab;
#[doc(hidden)]
pub mod memory;

pub use bridge::{Bridge, BridgeOptions};
pub use config::Config;
pub use durable::{Follower, Outbox};
pub use envelope::Envelope;
pub use grid::{
    Grid, GridError, GridEvent, Payload, Subscription, TopicOptions, TopicSelection,
    DEFAULT_MAX_PAYLOAD,
};
pub use iodef::ValidationLevel;
pub use rolie::{RolieConfig, RolieServer};
pub use sink::Sink;
pub use source::{GridSource, Source};
pub use store::Store;
