//! A RID endpoint as a source: a `[rid]` table (or a bridge's `[[source]] type = "rid"`, whose keys
//! are the same) turned into what the endpoint needs ([`Plan`]: peers, topics, node, the pending
//! directory), and the endpoint built on a publisher and a store ([`Plan::server`]). `gridlink rid
//! serve` and the bridge both start their endpoint this way; in the bridge, the publisher is the
//! bridge's (its outbox, the broker's confirmation) and Queries read the bridge's store first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::{RidConfig, RidConfigError, RID_PORT};
use super::gateway::{FirstOf, GridLookup, StoreLookup};
use super::pending::Pending;
use super::serve::{Endpoint, Lookup, Peer, RidServer};
use crate::grid::Grid;
use crate::rolie::Publisher;
use crate::store::Store;

/// Default of `[rid] requests_topic`.
pub const DEFAULT_REQUESTS_TOPIC: &str = "rid-requests";

/// What a `[rid]` table says, checked and with its defaults filled in.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where to listen.
    pub listen: SocketAddr,
    /// This endpoint's certificate chain.
    pub tls_cert: PathBuf,
    /// Its key.
    pub tls_key: PathBuf,
    /// The CA peers' certificates chain to.
    pub client_ca: PathBuf,
    /// CRL files (revocation checked when not empty).
    pub crl: Vec<PathBuf>,
    /// The peers, each with its topic.
    pub peers: Vec<Peer>,
    /// Where TraceRequests and InvestigationRequests go.
    pub requests_topic: String,
    /// Every topic the endpoint publishes to (the peers' and the requests topic).
    pub topics: Vec<String>,
    /// Where Queries look, when `query_topics` is set.
    pub query_topics: Option<Vec<String>>,
    /// This system's address in the messages it makes.
    pub node: String,
    /// The pending-request directory.
    pub pending_dir: PathBuf,
    /// `sign`: sign what the endpoint answers (default true).
    pub sign: bool,
    /// `require_signatures`: refuse unsigned messages (default false).
    pub require_signatures: bool,
}

fn need<T: Clone>(v: &Option<T>, key: &str) -> Result<T, RidConfigError> {
    v.clone()
        .ok_or_else(|| RidConfigError::Invalid(format!("{key} is needed")))
}

impl RidConfig {
    /// Checks the table and fills in the defaults; `state_dir` is gridlink's state directory
    /// (pending requests default to `STATE_DIR/rid-pending`).
    pub fn plan(&self, state_dir: &Path) -> Result<Plan, RidConfigError> {
        let listen_text = self
            .listen
            .clone()
            .unwrap_or_else(|| format!("0.0.0.0:{RID_PORT}"));
        let listen: SocketAddr = listen_text
            .parse()
            .map_err(|e| RidConfigError::Invalid(format!("listen = {listen_text:?}: {e}")))?;
        let requests_topic = self
            .requests_topic
            .clone()
            .unwrap_or_else(|| DEFAULT_REQUESTS_TOPIC.into());
        let tables = self.peer.clone().unwrap_or_default();
        if tables.is_empty() {
            return Err(RidConfigError::Invalid(
                "no RID peer configured (--peer NAME or [[rid.peer]])".into(),
            ));
        }
        let mut peers = Vec::new();
        for p in tables {
            let topic = p.topic.clone().or(self.topic.clone()).ok_or_else(|| {
                RidConfigError::Invalid(format!("peer {}: no topic (--topic or topic)", p.name))
            })?;
            peers.push(Peer {
                allowed: p.allowed()?,
                topic,
                config: p,
            });
        }
        let mut topics: Vec<String> = peers.iter().map(|p| p.topic.clone()).collect();
        topics.push(requests_topic.clone());
        topics.sort();
        topics.dedup();
        let node = self.node.clone().unwrap_or_else(|| {
            if listen.ip().is_unspecified() {
                tracing::warn!(
                    "[rid] node is not set: answers name {} as this RID system",
                    listen.ip()
                );
            }
            listen.ip().to_string()
        });
        Ok(Plan {
            listen,
            tls_cert: need(&self.tls_cert, "tls_cert (--tls-cert)")?,
            tls_key: need(&self.tls_key, "tls_key (--tls-key)")?,
            client_ca: need(&self.client_ca, "client_ca (--client-ca)")?,
            crl: self.crl.clone().unwrap_or_default(),
            peers,
            requests_topic,
            topics,
            query_topics: self.query_topics.clone(),
            node,
            pending_dir: self
                .state_dir
                .clone()
                .unwrap_or_else(|| state_dir.join("rid-pending")),
            sign: self.sign.unwrap_or(true),
            require_signatures: self.require_signatures.unwrap_or(false),
        })
    }
}

impl Plan {
    /// Where Queries look: `query_topics`, else the peers' Report topics and `more` (the bridge's
    /// topics, whose items its store keeps).
    pub fn query_topics(&self, more: &[String]) -> Vec<String> {
        if let Some(q) = &self.query_topics {
            return q.clone();
        }
        let mut v: Vec<String> = more.to_vec();
        for t in &self.topics {
            if *t != self.requests_topic && !v.contains(t) {
                v.push(t.clone());
            }
        }
        v
    }

    /// Binds the endpoint: documents go to `publisher`; Queries are answered from `store` (what
    /// was published through this gridlink, or everything a bridge follows) and then from the
    /// items the broker keeps on `query_topics`.
    pub fn server(
        &self,
        publisher: Arc<dyn Publisher>,
        store: Store,
        grid: &Grid,
        query_topics: Vec<String>,
    ) -> Result<RidServer, RidConfigError> {
        let lookup: Arc<dyn Lookup> = Arc::new(FirstOf(vec![
            Arc::new(StoreLookup {
                store,
                topics: query_topics.clone(),
            }),
            Arc::new(GridLookup {
                grid: grid.clone(),
                topics: query_topics,
            }),
        ]));
        let pending = Pending::open(&self.pending_dir).map_err(|e| {
            RidConfigError::Invalid(format!(
                "the pending-request directory {}: {e}",
                self.pending_dir.display()
            ))
        })?;
        // The TLS key decrypts what peers encrypted for this endpoint's certificate (RFC 6545
        // §9.1); a key type XML Encryption cannot use leaves encrypted messages refused.
        let decrypt = match super::xenc::DecryptingKey::from_pem(&self.tls_key) {
            Ok(k) => Some(Arc::new(k)),
            Err(e) => {
                tracing::warn!(error = %e, "encrypted RID messages will be refused (Justification Encryption)");
                None
            }
        };
        let endpoint = Endpoint {
            decrypt,
            peers: self.peers.clone(),
            requests_topic: self.requests_topic.clone(),
            node: self.node.clone(),
            publisher,
            lookup,
            pending,
            signatures: Some(Arc::new(
                super::sign::Signatures::from_files(
                    &self.tls_cert,
                    &self.tls_key,
                    &self.client_ca,
                    self.sign,
                    self.require_signatures,
                )
                .map_err(|e| {
                    RidConfigError::Tls(format!("RID signatures ([rid] sign, tls_key): {e}"))
                })?,
            )),
        };
        RidServer::bind_with_crls(
            self.listen,
            &self.tls_cert,
            &self.tls_key,
            &self.client_ca,
            &self.crl,
            endpoint,
        )
    }
}

/// The endpoint as a source that feeds the grid (ARCHITECTURE.md, "Adding a source"): what
/// `gridlink rid serve` runs, and what a bridge's `[[source]] type = "rid"` would start.
impl crate::source::Source for RidServer {
    fn name(&self) -> String {
        match self.local_addr() {
            Ok(a) => format!("rid {a}"),
            Err(_) => "rid".into(),
        }
    }

    fn run(
        self: Box<Self>,
        mut shutdown: crate::source::Shutdown,
    ) -> crate::sink::BoxFuture<'static, ()> {
        Box::pin(async move {
            let stop = async move {
                let _ = shutdown.wait_for(|s| *s).await;
            };
            if let Err(e) = RidServer::run(*self, stop).await {
                tracing::error!(error = %e, "the RID endpoint stopped");
            }
        })
    }
}
