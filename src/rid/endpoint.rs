//! What a RID endpoint is made of besides its sockets: its peers, the grid behind it (publishing,
//! Queries), the requests waiting for the operator, and its keys.

use std::sync::Arc;

use super::config::PeerConfig;
use super::model::MsgType;
use super::pending::Pending;
use super::sign::Signatures;
use super::xenc::DecryptingKey;
use crate::iodef;
use crate::rolie::{BoxFuture, Publisher};

/// Finds what the grid holds about an incident (for Queries).
pub trait Lookup: Send + Sync + 'static {
    /// The IODEF v2 document whose Incident has this IncidentID (`name`, text), if any.
    fn find<'a>(&'a self, name: &'a str, id: &'a str) -> BoxFuture<'a, Option<iodef::Document>>;
}

/// A configured peer.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its table.
    pub config: PeerConfig,
    /// What it may send.
    pub allowed: Vec<MsgType>,
    /// Where its Reports go.
    pub topic: String,
}

/// What the endpoint needs besides its sockets.
pub struct Endpoint {
    /// The peers.
    pub peers: Vec<Peer>,
    /// Where requests go.
    pub requests_topic: String,
    /// This system's address (RIDPolicy/Node of its answers).
    pub node: String,
    /// The grid side of publishing (validation, the durable outbox, the broker's confirmation).
    pub publisher: Arc<dyn Publisher>,
    /// The grid side of Queries.
    pub lookup: Arc<dyn Lookup>,
    /// Requests waiting for their Result.
    pub pending: Pending,
    /// Signing answers and checking received signatures (`None`: neither).
    pub signatures: Option<Arc<Signatures>>,
    /// This endpoint's TLS key, decrypting what peers encrypted for its certificate (`None`:
    /// encrypted messages are answered Denied, `Encryption`).
    pub decrypt: Option<Arc<DecryptingKey>>,
}
