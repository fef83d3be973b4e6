//! The ROLIE repository (RFC 8322): Atom/AtomPub documents over HTTP.
//!
//! * [`RolieConfig`] — the server's settings (serde, `deny_unknown_fields`).
//! * [`serve`] / [`RolieServer`] — bind and run the axum server (plain
//!   HTTP on loopback, or TLS with optional client certificates).
//! * [`Publisher`] — where AtomPub POST/DELETE go; the bridge implements it.
//! * [`Hooks`] — optional plug-ins: the RFC 8727 JSON form of an item, the
//!   XMPP session state for `/healthz`, extra `/metrics` families.
//! * [`warn_open_reads`] — the warning for a topic the grid restricts but
//!   the repository serves to anyone.
//! * [`poll`] — the client side: remote ROLIE/Atom feeds polled into the grid.
//!
//! Layout, each file depending only on those listed before it (no circle;
//! `tests/architecture.rs` checks), `poll` apart (it uses only what this
//! file re-exports): `error` (why serving failed), `config`, `xml`
//! (writer, namespaces), `urls` (the URL layout: routes and links),
//! `problem` (HTTP errors), `conditional` (validators, 304s), `cache`
//! (rendered pages), `hooks`, `publish` (the [`Publisher`] seam),
//! `throttle` (token-failure back-off), `auth` (tokens, scopes, client
//! certificates), `stats` (response counts), `entry_meta` (what an entry
//! shows, from [`crate::iodef::Summary`]), `documents` (the four ROLIE
//! documents), `listen` (sockets, connection limits), `state` (what
//! handlers reach), `archive` (RFC 5005 archives), `write` (POST,
//! DELETE), `ops` (`/metrics`, `/healthz`), `pages` (the analyst's
//! pages of `crate::web` over this server's state), `http` (router, read
//! handlers), `fast` (the 304 fast path), `observe` (the per-connection
//! service), `server` (bind, TLS, serve). Every document is rendered from
//! the store on each request, deterministically, so ETags are content
//! hashes and survive restarts.

mod archive;
mod auth;
mod cache;
mod conditional;
mod config;
mod documents;
mod entry_meta;
mod error;
mod fast;
mod hooks;
mod http;
mod listen;
mod observe;
mod ops;
mod pages;
pub mod poll;
mod problem;
mod publish;
mod server;
mod state;
mod stats;
mod throttle;
mod urls;
mod write;
mod xml;

use std::future::Future;
use std::sync::Arc;

pub use auth::warn_open_reads;
pub use config::{AuthorFrom, RolieConfig, TopicSettings};
pub use documents::{CATEGORIES_MEDIA_TYPE, ENTRY_MEDIA_TYPE, FEED_MEDIA_TYPE, SERVICE_MEDIA_TYPE};
pub use error::ServeError;
pub use hooks::{ComponentHealth, HealthProbe, Hooks, JsonForm, MetricsHook};
pub use publish::{BoxFuture, NoPublisher, PublishBody, PublishError, Published, Publisher};
pub use server::RolieServer;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use write::fuzz_post_body;
pub use xml::{APP_NS, ATOM_NS, CONTENT_ID_PROPERTY, INFORMATION_TYPE_SCHEME, ROLIE_NS};

use crate::store::Store;

/// Binds per `config` and serves until `shutdown` resolves, without hooks.
/// Use [`RolieServer::bind`] to add [`Hooks`] or learn the bound port.
pub async fn serve(
    config: RolieConfig,
    store: Store,
    publisher: Arc<dyn Publisher>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    RolieServer::bind(config, store, publisher, Hooks::default())
        .await?
        .run(shutdown)
        .await
}
