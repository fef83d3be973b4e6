//! A TAXII 2.1 server (OASIS TAXII 2.1) on the bridge, at `/taxii2/`: the grid's IODEF incidents
//! as STIX 2.1 (`crate::stix`), one collection per bridged topic, read and written with the ROLIE
//! repository's tokens (Bearer, or HTTP Basic with the token as password) and its rules.
//!
//! Files, each using only those listed before it: `media` (media types, negotiation, errors),
//! `objects` (items → objects, filters, paging by the store's sequence), `add` (Add Objects and
//! the status resources), `handlers` (the endpoints). [`router`] here wires them; the bridge
//! mounts it with [`RolieServer::mount`](crate::rolie::RolieServer::mount).

mod add;
mod handlers;
mod media;
mod objects;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;

pub use handlers::{collection_id, MAX_CONTENT_LENGTH};
pub use media::{STIX, TAXII};

use crate::rolie::Gate;

/// The TAXII routes (under `/taxii2/`), on `gate`'s server.
pub fn router(gate: Gate) -> Router {
    let state = Arc::new(handlers::Taxii {
        gate,
        objects: Default::default(),
        statuses: Default::default(),
    });
    let c = "/taxii2/api/collections/{id}";
    Router::new()
        .route("/taxii2/", get(handlers::discovery))
        .route("/taxii2/api/", get(handlers::root))
        .route("/taxii2/api/collections/", get(handlers::collections))
        .route(&format!("{c}/"), get(handlers::one_collection))
        .route(
            &format!("{c}/objects/"),
            get(handlers::objects).post(handlers::add_objects),
        )
        .route(&format!("{c}/objects/{{oid}}/"), get(handlers::object))
        .route(
            &format!("{c}/objects/{{oid}}/versions/"),
            get(handlers::versions),
        )
        .route(&format!("{c}/manifest/"), get(handlers::manifest))
        .route("/taxii2/api/status/{id}/", get(handlers::status))
        .layer(DefaultBodyLimit::max(MAX_CONTENT_LENGTH))
        .with_state(state)
}
