//! The pages' router: paths, the three static files, and the security
//! headers on every response (`page::secure`).

use axum::http::{header, HeaderValue};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::context::WebContext;
use super::index::index;
use super::item::item;
use super::live::{events, live};
use super::page::{secure, CSS_PATH, ICON_PATH, JS_PATH};
use super::topic::topic;

const CSS: &str = include_str!("assets/web.css");
const JS: &str = include_str!("assets/live.js");
const ICON: &str = include_str!("assets/icon.svg");

/// The pages, ready to merge into a server's router (no fallback: the
/// server keeps its own).
pub(crate) fn router(ctx: WebContext) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/web/topics/{topic}", get(topic))
        .route("/web/topics/{topic}/items/{item}", get(item))
        .route("/web/live", get(live))
        .route("/web/events", get(events))
        .route(
            CSS_PATH,
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            JS_PATH,
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
        .route(ICON_PATH, get(|| async { asset("image/svg+xml", ICON) }))
        .layer(map_response(|r: Response| async move { secure(r) }))
        .with_state(ctx)
}

fn asset(media_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}
