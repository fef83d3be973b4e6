//! [`AppState`]: everything a request handler can reach.

use std::sync::Arc;

use super::auth::Auth;
use super::cache::{FeedCache, Version};
use super::config::RolieConfig;
use super::documents::DocContext;
use super::hooks::{HealthProbe, JsonForm, MetricsHook};
use super::listen::ConnLimit;
use super::problem::Problem;
use super::publish::Publisher;
use super::stats::ResponseCounts;
use super::urls::Urls;
use crate::store::Store;

/// Everything a request handler can reach.
pub(crate) struct AppState {
    pub(crate) config: RolieConfig,
    pub(crate) store: Store,
    pub(crate) urls: Urls,
    pub(crate) publisher: Arc<dyn Publisher>,
    pub(crate) json_form: Option<JsonForm>,
    pub(crate) health: Option<Arc<dyn HealthProbe>>,
    pub(crate) metrics_hook: Option<MetricsHook>,
    /// Tokens, scopes and the failure throttle.
    pub(crate) auth: Auth,
    /// Responses by status.
    pub(crate) responses: ResponseCounts,
    pub(crate) feed_cache: FeedCache,
    /// Open connections and the limits on them (`max_connections`,
    /// `max_connections_per_ip`).
    pub(crate) connections: Arc<ConnLimit>,
}

pub(crate) type Shared = Arc<AppState>;

impl AppState {
    pub(crate) fn doc_context(&self) -> DocContext<'_> {
        DocContext {
            urls: &self.urls,
            config: &self.config,
            json: self.json_form.is_some(),
            writable: self.auth.can_write(),
        }
    }

    /// The version a cached document of `topic` must have been rendered
    /// at to be served now (see `cache.rs`): the topic's generation and
    /// how many archive blocks the store has closed. Costs no query.
    pub(crate) fn version(&self, topic: &str) -> Version {
        let closed = match u64::try_from(self.store.last_seq()) {
            Ok(seq) => seq / self.config.archive_block().max(1),
            Err(_) => 0,
        };
        (self.store.generation(topic), closed)
    }

    /// Whether `topic` is served (configured, or known to the store).
    pub(crate) async fn known_topic(&self, topic: &str) -> Result<bool, Problem> {
        Ok(self.config.topics.contains_key(topic) || self.store.topic(topic).await?.is_some())
    }
}
