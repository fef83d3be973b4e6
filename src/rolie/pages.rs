//! The analyst's web pages (`crate::web`) mounted on this server: the
//! pages get the store, the feeds' own read rule (tokens, topic scopes,
//! the throttle's marking of wrong tokens), the links to an item's
//! entry, XML and JSON, and the bridge's health through the hooks.

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Router;

use super::auth::Access;
use super::state::Shared;
use super::urls::Urls;
use crate::web::{Health, ItemLinks, Scope, WebContext};

/// The pages' router over `state`.
pub(crate) fn router(state: &Shared) -> Router {
    let read_state = state.clone();
    let health_state = state.clone();
    // Same-origin paths: the pages link within the server they came from,
    // whatever its public URL.
    let local = Urls::new("");
    let json = state.json_form.is_some();
    crate::web::router(WebContext {
        store: state.store.clone(),
        configured: state.config.topics.keys().cloned().collect(),
        page_size: state.config.page_size,
        read: Arc::new(move |headers: &HeaderMap, topic: Option<&str>| {
            match read_state.auth.read(headers, topic) {
                Ok(Access::Everything) => Ok(Scope::All),
                Ok(Access::Topics(t)) => Ok(Scope::Topics(t.to_vec())),
                Err(p) => Err(Box::new(p.into_response())),
            }
        }),
        links: Arc::new(move |topic: &str, item: &str| ItemLinks {
            entry: local.entry(topic, item),
            xml: local.xml(topic, item),
            json: json.then(|| local.json(topic, item)),
        }),
        health: Arc::new(move || {
            let mut metrics = String::new();
            if let Some(hook) = &health_state.metrics_hook {
                hook(&mut metrics);
            }
            Health {
                xmpp: health_state.health.as_ref().map(|h| {
                    let x = h.xmpp();
                    (x.healthy, x.detail)
                }),
                metrics,
            }
        }),
    })
}
