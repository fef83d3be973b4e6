//! The ROLIE repository (RFC 8322): Atom/AtomPub documents over HTTP.
//!
//! * [`RolieConfig`] — the server's settings (serde, `deny_unknown_fields`).
//! * [`serve`] / [`RolieServer`] — bind and run the axum server (plain
//!   HTTP on loopback, or TLS with optional client certificates).
//! * [`Publisher`] — where AtomPub POST/DELETE go; the bridge implements it.
//! * [`Hooks`] — optional plug-ins: the RFC 8727 JSON form of an item, the
//!   XMPP session state for `/healthz`, extra `/metrics` lines.
//! * [`poll`] — the client side: remote ROLIE/Atom feeds polled into the grid.
//! * [`IodefMeta`] — the title/summary/content-id an entry shows.
//!
//! The URL layout is in `urls.rs`; every document is rendered from the
//! store on each request, deterministically, so ETags are content hashes
//! and survive restarts.

mod archive;
mod cache;
mod config;
mod documents;
mod fast;
mod http;
mod iodef_meta;
mod listen;
mod ops;
pub mod poll;
mod server;
mod urls;
mod write;
mod xml;

use std::future::Future;
use std::sync::Arc;

pub use config::{AuthorFrom, RolieConfig, TopicSettings};
pub use documents::{CATEGORIES_MEDIA_TYPE, ENTRY_MEDIA_TYPE, FEED_MEDIA_TYPE, SERVICE_MEDIA_TYPE};
pub use iodef_meta::IodefMeta;
pub use ops::{ComponentHealth, HealthProbe, MetricsHook};
pub use server::{Hooks, RolieServer, ServeError};
pub use write::{BoxFuture, NoPublisher, PublishBody, PublishError, Published, Publisher};
pub use xml::{APP_NS, ATOM_NS, CONTENT_ID_PROPERTY, INFORMATION_TYPE_SCHEME, ROLIE_NS};

use crate::envelope::Envelope;
use crate::store::Store;

/// Renders an item's RFC 8727 JSON form (the seam for `crate::iodef`).
pub type JsonForm = Arc<dyn Fn(&Envelope) -> Result<String, String> + Send + Sync>;

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
