//! [`RidSink`]: forwards the grid's items to one RID peer as Reports (RFC 6545 §6.5 "Report", sent
//! over RFC 6546). One sink per peer, so that the sink layer's per-sink cursor is a per-peer cursor:
//! a peer that is down holds back only its own deliveries. Sending is idempotent (RFC 6546 §3), so a
//! repeat after a crash is harmless; peers deduplicate.

use serde::Deserialize;

use super::client::{Reply, RidClient, SendError};
use super::message::enclosing;
use super::model::MsgType;
use crate::grid::GridEvent;
use crate::iodef;
use crate::sink::{BoxFuture, Sink, SinkError};

/// A `[[sink]] type = "rid"` table (to be added to `SinkConfig` when the sink layer is wired).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RidSinkConfig {
    /// The peer's RID endpoint, e.g. `https://rid.csirt-b.example:4590/`.
    pub url: String,
    /// This endpoint's certificate chain (PEM), presented to the peer.
    pub tls_cert: std::path::PathBuf,
    /// Its key (PEM).
    pub tls_key: std::path::PathBuf,
    /// CA the peer's certificate chains to (PEM).
    pub peer_ca: std::path::PathBuf,
    /// Topics whose items go to this peer (all when unset).
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    /// This system's address (RIDPolicy/Node of the Reports).
    #[serde(default)]
    pub node: Option<String>,
}

/// Forwards items to one RID peer.
pub struct RidSink {
    name: String,
    url: String,
    client: RidClient,
    topics: Option<Vec<String>>,
    node: String,
}

impl RidSink {
    /// A sink sending with `client` to `url`.
    pub fn new(client: RidClient, url: &str, topics: Option<Vec<String>>, node: &str) -> RidSink {
        RidSink {
            name: format!("rid {url}"),
            url: url.into(),
            client,
            topics,
            node: node.into(),
        }
    }

    /// The sink a `[[sink]] type = "rid"` table describes.
    pub fn from_config(c: &RidSinkConfig) -> Result<RidSink, SendError> {
        let client = RidClient::new(&c.tls_cert, &c.tls_key, &c.peer_ca)?;
        Ok(RidSink::new(
            client,
            &c.url,
            c.topics.clone(),
            c.node.as_deref().unwrap_or("127.0.0.1"),
        ))
    }

    async fn forward(&self, ev: &GridEvent) -> Result<(), SinkError> {
        let GridEvent::Item { envelope, .. } = ev else {
            // Retractions, purges, deletions: RID has no message for them.
            return Ok(());
        };
        if self
            .topics
            .as_ref()
            .is_some_and(|t| !t.contains(&envelope.topic))
        {
            return Ok(());
        }
        let doc = match iodef::parse(envelope.document.as_bytes()) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(sink = %self.name, item = %envelope.item_id, error = %e, "not IODEF v2: not forwarded");
                return Ok(());
            }
        };
        let Some(report) = enclosing(MsgType::Report, &doc, &self.node) else {
            return Ok(());
        };
        match self.client.send(&self.url, &report, None).await {
            Ok(Reply::Message(m)) => {
                // RFC 6546 Table 1: a Report may be answered by an Acknowledgement (a refusal).
                let status = m.status.as_ref().map(|s| s.status.value.to_string());
                tracing::warn!(sink = %self.name, item = %envelope.item_id, status, "the peer acknowledged the Report instead of taking it");
                Ok(())
            }
            Ok(_) => {
                tracing::info!(sink = %self.name, item = %envelope.item_id, "Report delivered");
                Ok(())
            }
            // Down or failing: stop with the event unrecorded; it is sent again after a restart.
            Err(e) if e.is_transient() => Err(SinkError::io(
                &self.name,
                std::io::Error::other(e.to_string()),
            )),
            // Refused for good (4xx, an invalid answer): retrying cannot help; logged, skipped.
            Err(e) => {
                tracing::error!(sink = %self.name, item = %envelope.item_id, error = %e, "the peer refused the Report");
                Ok(())
            }
        }
    }
}

impl Sink for RidSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver<'a>(&'a mut self, ev: &'a GridEvent) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(self.forward(ev))
    }
}
