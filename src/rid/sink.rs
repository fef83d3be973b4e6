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
use crate::sink::{BoxFuture, Outcome, Sink, SinkConfig, SinkError};

/// The settings of a `[[sink]] type = "rid"` table
/// ([`SinkConfig::Rid`] carries the same keys).
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
    /// CRL files the peer's server certificate is checked against (RFC 6545 §9.3.1): a revoked
    /// peer, or one whose issuer published none of them, is refused by TLS and nothing is sent.
    #[serde(default)]
    pub crl: Option<Vec<std::path::PathBuf>>,
}

/// Builds the sink of a `[[sink]] type = "rid"` table; `None` for the other types, which
/// [`SinkConfig::build`] builds (`sink` cannot name this module: `rid` builds on `sink`).
pub fn build(table: &SinkConfig) -> Option<Result<Box<dyn Sink>, SinkError>> {
    let SinkConfig::Rid {
        url,
        tls_cert,
        tls_key,
        peer_ca,
        topics,
        node,
        crl,
    } = table
    else {
        return None;
    };
    let cfg = RidSinkConfig {
        url: url.clone(),
        tls_cert: tls_cert.clone(),
        tls_key: tls_key.clone(),
        peer_ca: peer_ca.clone(),
        topics: topics.clone(),
        node: node.clone(),
        crl: crl.clone(),
    };
    Some(match RidSink::from_config(&cfg) {
        Ok(s) => Ok(Box::new(s) as Box<dyn Sink>),
        Err(e) => Err(SinkError::config(&format!("rid {url}"), e)),
    })
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
        let crl = c.crl.as_deref().unwrap_or_default();
        let client = RidClient::with_crls(&c.tls_cert, &c.tls_key, &c.peer_ca, crl)?;
        Ok(RidSink::new(
            client,
            &c.url,
            c.topics.clone(),
            c.node.as_deref().unwrap_or("127.0.0.1"),
        ))
    }

    /// Sends one event: `Accepted` when the peer took it or there was nothing to send,
    /// `Refused` when the peer said no for good, `Err` when it is down or failing (5xx).
    async fn forward(&self, ev: &GridEvent) -> Result<Outcome, SinkError> {
        let GridEvent::Item { envelope, .. } = ev else {
            // Retractions, purges, deletions: RID has no message for them.
            return Ok(Outcome::Accepted);
        };
        if self
            .topics
            .as_ref()
            .is_some_and(|t| !t.contains(&envelope.topic))
        {
            return Ok(Outcome::Accepted);
        }
        let doc = match iodef::parse(envelope.document.as_bytes()) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(sink = %self.name, item = %envelope.item_id, error = %e, "not IODEF v2: not forwarded");
                return Ok(Outcome::Accepted);
            }
        };
        let Some(report) = enclosing(MsgType::Report, &doc, &self.node) else {
            return Ok(Outcome::Accepted);
        };
        match self.client.send(&self.url, &report, None).await {
            Ok(Reply::Message(m)) => {
                // RFC 6546 Table 1: a Report may be answered by an Acknowledgement (a refusal).
                let status = m
                    .status
                    .as_ref()
                    .map_or_else(|| "no status".to_string(), |s| s.status.value.to_string());
                tracing::warn!(sink = %self.name, item = %envelope.item_id, status, "the peer acknowledged the Report instead of taking it");
                Ok(Outcome::Refused(format!(
                    "the peer answered with an Acknowledgement ({status})"
                )))
            }
            Ok(_) => {
                tracing::info!(sink = %self.name, item = %envelope.item_id, "Report delivered");
                Ok(Outcome::Accepted)
            }
            // Down or failing: the event stays unrecorded and comes again.
            Err(e) if e.is_transient() => Err(SinkError::io(
                &self.name,
                std::io::Error::other(e.to_string()),
            )),
            // Refused for good (4xx, an invalid answer): retrying cannot help.
            Err(e) => {
                tracing::error!(sink = %self.name, item = %envelope.item_id, error = %e, "the peer refused the Report");
                Ok(Outcome::Refused(e.to_string()))
            }
        }
    }
}

impl Sink for RidSink {
    fn name(&self) -> &str {
        &self.name
    }

    /// In line (no cursor of its own), a refusal is logged and skipped.
    fn deliver<'a>(&'a mut self, ev: &'a GridEvent) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move { self.forward(ev).await.map(|_| ()) })
    }

    /// Each peer gets its own durable cursor, retries and dead letters: a peer that is down holds
    /// back only its own deliveries.
    fn own_cursor(&self) -> bool {
        true
    }

    /// A refusal (4xx, an Acknowledgement instead of taking the Report) goes to the dead-letter
    /// file; a peer that is down or failing (5xx) gets the events again after a backoff.
    fn deliver_batch<'a>(
        &'a mut self,
        evs: &'a [GridEvent],
    ) -> BoxFuture<'a, Result<Vec<Outcome>, SinkError>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(evs.len());
            for ev in evs {
                match self.forward(ev).await {
                    Ok(o) => out.push(o),
                    Err(e) if out.is_empty() => return Err(e),
                    Err(e) => {
                        out.push(Outcome::Retry(e.to_string()));
                        break;
                    }
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only `rid` tables are built here; certificate files that cannot be read are a settings
    /// error naming the sink.
    #[test]
    fn builds_rid_tables_only() {
        let other: SinkConfig = toml::from_str("type = \"files\"\ndir = \"/tmp/x\"").unwrap();
        assert!(build(&other).is_none());
        let rid: SinkConfig = toml::from_str(
            "type = \"rid\"\nurl = \"https://peer:4590/\"\ntls_cert = \"/nonexistent/c\"\ntls_key = \"/nonexistent/k\"\npeer_ca = \"/nonexistent/ca\"",
        )
        .unwrap();
        let Some(Err(e)) = build(&rid) else {
            panic!("built without certificate files")
        };
        assert!(matches!(e, SinkError::Config { .. }), "{e}");
        assert!(e.to_string().starts_with("rid https://peer:4590/: "), "{e}");
    }
}
