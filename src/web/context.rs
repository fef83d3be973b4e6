//! [`WebContext`]: what the page handlers reach, handed over by the server
//! that mounts them (the ROLIE server: its store, read rules and links).

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::Response;

use crate::store::Store;

/// Which topics a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every topic.
    All,
    /// Only these.
    Topics(Vec<String>),
}

impl Scope {
    /// Whether `topic` may be read.
    pub(crate) fn covers(&self, topic: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Topics(t) => t.iter().any(|t| t == topic),
        }
    }
}

/// The read rule: may the request with these headers read `topic` (`None`:
/// a page about every topic, filtered by the returned [`Scope`])? `Err` is
/// the refusal to send as it is (401, 403, 429).
pub(crate) type ReadCheck =
    Arc<dyn Fn(&HeaderMap, Option<&str>) -> Result<Scope, Box<Response>> + Send + Sync>;

/// An item's machine-readable forms, from (topic, item id).
pub(crate) type LinkFn = Arc<dyn Fn(&str, &str) -> ItemLinks + Send + Sync>;

/// The bridge's state, now.
pub(crate) type HealthFn = Arc<dyn Fn() -> Health + Send + Sync>;

/// Where an item's machine-readable forms are (same-origin paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemLinks {
    /// The Atom entry.
    pub(crate) entry: String,
    /// The IODEF XML document.
    pub(crate) xml: String,
    /// The RFC 8727 JSON form, when the server renders one.
    pub(crate) json: Option<String>,
}

/// The bridge's state as the index page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Health {
    /// The XMPP session: healthy, and its state word; `None`: no session
    /// (a repository without a bridge).
    pub(crate) xmpp: Option<(bool, String)>,
    /// The server's extra Prometheus text (the bridge's counters: polls,
    /// drops, gaps, reconnects), read back by `health.rs`.
    pub(crate) metrics: String,
}

/// Everything the page handlers reach.
#[derive(Clone)]
pub(crate) struct WebContext {
    /// The items.
    pub(crate) store: Store,
    /// Topics served even while empty (configured ones).
    pub(crate) configured: Vec<String>,
    /// Items per page of a topic page (the feeds' page size).
    pub(crate) page_size: usize,
    /// The read rule (the feeds' own).
    pub(crate) read: ReadCheck,
    /// An item's machine-readable forms, from (topic, item id).
    pub(crate) links: LinkFn,
    /// The bridge's state, now.
    pub(crate) health: HealthFn,
}

impl WebContext {
    /// The topics `scope` may see: configured ones and those the store
    /// holds, sorted.
    pub(crate) async fn topics(
        &self,
        scope: &Scope,
    ) -> Result<Vec<crate::store::TopicInfo>, crate::store::StoreError> {
        let mut topics = self.store.topics().await?;
        for t in &self.configured {
            if !topics.iter().any(|i| &i.topic == t) {
                topics.push(self.store.ensure_topic(t).await?);
            }
        }
        topics.retain(|t| scope.covers(&t.topic));
        topics.sort_by(|a, b| a.topic.cmp(&b.topic));
        Ok(topics)
    }
}
