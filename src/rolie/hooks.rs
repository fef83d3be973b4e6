//! The server's optional plug-ins ([`Hooks`]) and the types they are made
//! of: the RFC 8727 JSON form of an item, the XMPP session state for
//! `/healthz`, extra `/metrics` families.

use std::sync::Arc;

use crate::envelope::Envelope;

/// Renders an item's RFC 8727 JSON form (the seam for `crate::iodef`).
pub type JsonForm = Arc<dyn Fn(&Envelope) -> Result<String, String> + Send + Sync>;

/// The health of one component, as `/healthz` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHealth {
    /// Whether the component counts as working.
    pub healthy: bool,
    /// A short state word or message (`online`, `reconnecting`, …).
    pub detail: String,
}

/// Tells `/healthz` how the XMPP session is doing. The bridge implements it;
/// without one, `/healthz` reports the session as `not-configured` (healthy).
pub trait HealthProbe: Send + Sync + 'static {
    /// The current state of the XMPP session.
    fn xmpp(&self) -> ComponentHealth;

    /// The bridge's own-cursor sinks (syslog, HTTP), when it has any: a
    /// sink failing for longer than its threshold makes `/healthz` 503.
    fn sinks(&self) -> Option<ComponentHealth> {
        None
    }
}

/// Appends more Prometheus text (e.g. the bridge's XMPP counters) to
/// `/metrics`. Each call must write complete families, through
/// [`crate::metrics::Exposition`] so that label values are escaped.
pub type MetricsHook = Arc<dyn Fn(&mut String) + Send + Sync>;

/// Optional plug-ins of the server, all off by default.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Renders an item's RFC 8727 JSON form. When set, entries carry an
    /// `alternate` link to `…/iodef.json`, which serves its output.
    pub json_form: Option<JsonForm>,
    /// Reports the XMPP session state for `/healthz`.
    pub health: Option<Arc<dyn HealthProbe>>,
    /// Adds lines to `/metrics`.
    pub metrics: Option<MetricsHook>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("json_form", &self.json_form.is_some())
            .field("health", &self.health.is_some())
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}
