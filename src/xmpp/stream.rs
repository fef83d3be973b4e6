//! The pieces of an XMPP stream that the connection attempt (`connect.rs`),
//! SASL (`sasl.rs`) and the session share: the stream header and timeouts,
//! what a login hands over, and protocol errors.

use std::borrow::Cow;

use tokio_xmpp::stanzastream::Connection;
use tokio_xmpp::xmlstream::{StreamHeader, Timeouts};

use super::ConnectError;

/// How many stanzas may wait in each direction inside `StanzaStream`.
pub(super) const QUEUE_DEPTH: usize = 1024;

/// A logged-in stream, ready for resource binding.
pub(crate) struct Login {
    /// The stream and its features, as `StanzaStream` wants them.
    pub connection: Connection,
    /// The SASL mechanism that was used.
    pub mechanism: &'static str,
    /// The TLS version negotiated (`None`: loopback plaintext).
    pub tls_version: Option<&'static str>,
}

/// Stream timeouts: after `read_timeout` of silence the stream pings the
/// server; no answer within `response_timeout` means the connection is dead.
pub(crate) fn timeouts() -> Timeouts {
    Timeouts {
        read_timeout: std::time::Duration::from_secs(30),
        response_timeout: std::time::Duration::from_secs(15),
    }
}

/// The header we open (and, after SASL, restart) a stream with.
pub(super) fn header(domain: &str) -> StreamHeader<'static> {
    StreamHeader {
        to: Some(Cow::Owned(domain.to_string())),
        from: None,
        id: None,
    }
}

/// A protocol failure while talking to `addr`.
pub(super) fn protocol(addr: &str, e: impl std::fmt::Display) -> ConnectError {
    ConnectError::Protocol {
        addr: addr.to_string(),
        reason: e.to_string(),
    }
}
