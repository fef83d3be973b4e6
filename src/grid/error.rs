//! Errors of the grid layer: [`GridError`] and the [`PayloadError`] a
//! document refused before publishing gives.

use crate::iodef;
use crate::xmpp::{ConnectError, IqError};

/// What went wrong in an XMPP-Grid operation.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    /// The session could not be opened.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The server has no publish-subscribe service.
    #[error("no publish-subscribe service found on {domain} (XEP-0030 identity pubsub/service); name one with --pubsub")]
    NoPubsubService {
        /// The domain searched.
        domain: String,
    },
    /// A request failed.
    #[error("{op}: {source}")]
    Request {
        /// What was attempted, e.g. `create topic incidents`.
        op: String,
        /// The failure.
        source: IqError,
    },
    /// The topic does not exist.
    #[error("topic {0:?} does not exist on the pubsub service")]
    NoSuchTopic(String),
    /// A payload was refused before sending.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The server answered something gridlink cannot use.
    #[error("unexpected answer to {op}: {message}")]
    Protocol {
        /// The operation.
        op: String,
        /// What was wrong.
        message: String,
    },
}

impl GridError {
    pub(crate) fn request(op: impl Into<String>) -> impl FnOnce(IqError) -> GridError {
        let op = op.into();
        move |source| GridError::Request { op, source }
    }

    /// Whether trying again later may succeed: the connection was lost or
    /// reset, the broker did not answer in time, or it answered with an error
    /// of type `wait` (RFC 6120 §8.3.2: retry after waiting). Everything else
    /// (forbidden, item-not-found, a refused payload…) will fail again.
    pub fn is_transient(&self) -> bool {
        use tokio_xmpp::parsers::stanza_error::ErrorType;
        match self {
            GridError::Connect(e) => e.is_transient(),
            GridError::Request { source, .. } => match source {
                IqError::Timeout { .. } | IqError::SessionReset { .. } | IqError::Closed => true,
                IqError::Stanza { error, .. } => error.type_ == ErrorType::Wait,
            },
            _ => false,
        }
    }

    /// The XMPP error condition, when the server refused a request.
    pub fn condition(&self) -> Option<String> {
        match self {
            GridError::Request { source, .. } => source.condition(),
            _ => None,
        }
    }
}

/// Why an input cannot be published.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Over the configured size limit.
    #[error("payload is {size} bytes; the limit is {max} bytes (--max-size)")]
    TooLarge {
        /// Bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not an IODEF v2 document.
    #[error("not a publishable IODEF v2 document: {0}")]
    Iodef(#[from] iodef::IodefError),
    /// Schema or RFC rule violations.
    #[error("invalid IODEF ({} problem{}): {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.join("; "))]
    Invalid(Vec<String>),
    /// Valid as given, but not once the redaction left elements out (a
    /// required element, or every `Incident`): nothing is published rather
    /// than half an incident.
    #[error("after leaving out {omitted} element(s) (--omit/--share) the document is not valid IODEF: {}", .problems.join("; "))]
    InvalidAfterRedaction {
        /// Elements left out.
        omitted: usize,
        /// What the validator says about what is left.
        problems: Vec<String>,
    },
    /// A CSAF advisory or CVE record that cannot be published.
    #[error(transparent)]
    Vuln(#[from] crate::vuln::VulnError),
    /// The serialised document was refused by the XMPP XML parser.
    #[error("the document cannot be carried in an XMPP stanza: {0}")]
    Xmpp(String),
}
