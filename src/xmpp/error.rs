//! Errors of the session layer, worded for the person who has to fix them.

use std::time::Duration;

use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::stanza_error::StanzaError;

/// Why a connection could not be established.
///
/// On the first connection these are fatal (gridlink exits with the message);
/// after a first successful login they are logged and retried with backoff,
/// except that a session whose reconnects keep failing for a reason that is
/// not [transient](ConnectError::is_transient) ends
/// ([`Session::failure`](super::Session::failure)).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server's host name does not resolve.
    #[error("unknown host {host}: {reason}")]
    UnknownHost {
        /// The host name.
        host: String,
        /// The resolver's message.
        reason: String,
    },
    /// Nothing accepts connections at that address.
    #[error("connection refused by {addr} (is the XMPP server running and listening there?)")]
    Refused {
        /// `host:port`.
        addr: String,
    },
    /// Another network-level failure.
    #[error("cannot connect to {addr}: {reason}")]
    Network {
        /// `host:port`.
        addr: String,
        /// The OS's message.
        reason: String,
    },
    /// The server's certificate was not accepted.
    #[error("untrusted server certificate for {name}: {reason} (add the issuing CA with --ca-file, or check --tls-name)")]
    UntrustedCertificate {
        /// The name the certificate was checked against.
        name: String,
        /// What rustls found wrong.
        reason: String,
    },
    /// The server's certificate is revoked by one of the configured CRLs
    /// (`--crl-file`), or its revocation status could not be decided from
    /// them (no CRL of its issuer, or a CRL past its next update).
    #[error(
        "server certificate for {name} refused by revocation check: {reason} (see --crl-file)"
    )]
    RevokedCertificate {
        /// The name the certificate was checked against.
        name: String,
        /// Revoked, unknown status, or expired CRL.
        reason: String,
    },
    /// The server's certificate is valid, but its public key matches none of
    /// the pinned keys (`--pin-sha256`).
    #[error("server key of {name} matches no pinned key: it is sha256/{got} (see --pin-sha256)")]
    PinMismatch {
        /// The name the certificate was checked against.
        name: String,
        /// Base64 SHA-256 of the key the server presented.
        got: String,
    },
    /// Another TLS failure (handshake, protocol version, alert).
    #[error("TLS failure with {name}: {reason}")]
    Tls {
        /// The TLS server name.
        name: String,
        /// The message.
        reason: String,
    },
    /// The server answered `<failure/>` to `<starttls/>`, or — not having
    /// offered STARTTLS — a stream error or a hang-up: it has no TLS for us.
    #[error("the server refused STARTTLS or offers no TLS; gridlink does not fall back to plaintext (--insecure-plaintext allows it, to a loopback address only)")]
    StartTlsRefused,
    /// The server rejected the credentials.
    #[error("authentication failed for {jid}: {condition} (wrong password or unknown account)")]
    AuthFailed {
        /// The account.
        jid: String,
        /// The SASL failure condition, e.g. `not-authorized`.
        condition: String,
    },
    /// The server refused SASL EXTERNAL with our client certificate.
    #[error("authentication with the client certificate failed for {jid}: {condition} (the server does not accept this certificate for this account: it must be issued by a CA the server trusts for clients, be current, and name {jid} as its xmppAddr)")]
    CertificateRejected {
        /// The account.
        jid: String,
        /// The SASL failure condition, e.g. `not-authorized`, and the
        /// server's reason when it gave one.
        condition: String,
    },
    /// No SASL mechanism that gridlink can use with what it has is offered.
    #[error("no acceptable SASL mechanism: the server offers [{offered}] and gridlink has {have}; gridlink uses EXTERNAL with a client certificate over TLS, and SCRAM-SHA-256/SCRAM-SHA-1 with a password (PLAIN only over TLS)")]
    NoMechanism {
        /// The offered mechanisms, comma-separated.
        offered: String,
        /// What gridlink could authenticate with.
        have: &'static str,
    },
    /// Plaintext was asked for a non-loopback address.
    #[error("--insecure-plaintext is only allowed to a loopback address, not {addr}")]
    PlaintextNotLoopback {
        /// The peer address.
        addr: String,
    },
    /// The TLS settings are unusable (unreadable CA file, bad key…).
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// The whole connect sequence took longer than allowed.
    #[error("no session with {addr} within {after:?} (server not answering?)")]
    Timeout {
        /// `host:port`.
        addr: String,
        /// The limit.
        after: Duration,
    },
    /// The server violated the protocol or closed the stream during login.
    #[error("XMPP negotiation with {addr} failed: {reason}")]
    Protocol {
        /// `host:port`.
        addr: String,
        /// What went wrong.
        reason: String,
    },
}

impl ConnectError {
    /// Whether the same attempt may succeed later: the server is down,
    /// unreachable or slow. Wrong credentials, certificates, names and
    /// settings are not: retrying them only hides the mistake.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ConnectError::Refused { .. }
                | ConnectError::Network { .. }
                | ConnectError::Timeout { .. }
                | ConnectError::Protocol { .. }
        )
    }
}

/// Why an IQ request did not get a `result`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IqError {
    /// No answer within the limit.
    #[error("no answer from {to} within {after:?}")]
    Timeout {
        /// The addressee.
        to: String,
        /// The limit.
        after: Duration,
    },
    /// The stream was replaced by a new session before the answer came; the
    /// request may or may not have been executed.
    #[error("the XMPP session was reset before {to} answered (the request may or may not have been applied)")]
    SessionReset {
        /// The addressee.
        to: String,
    },
    /// The session is closed.
    #[error("the XMPP session is closed")]
    Closed,
    /// The addressee answered with an error.
    #[error("{to} answered: {}", describe_stanza_error(.error))]
    Stanza {
        /// The addressee.
        to: String,
        /// The error as received.
        error: Box<StanzaError>,
    },
}

impl IqError {
    /// The `xmpp-stanzas` condition name (e.g. `item-not-found`), if the peer answered with an error.
    pub fn condition(&self) -> Option<String> {
        match self {
            IqError::Stanza { error, .. } => Some(condition_name(error)),
            _ => None,
        }
    }

    /// The application-specific condition element (e.g. pubsub#errors `precondition-not-met`).
    pub fn app_condition(&self) -> Option<&Element> {
        match self {
            IqError::Stanza { error, .. } => error.other.as_ref(),
            _ => None,
        }
    }

    /// The human-readable text of an error answer, if any.
    pub fn text(&self) -> Option<&str> {
        match self {
            IqError::Stanza { error, .. } => error.texts.values().next().map(String::as_str),
            _ => None,
        }
    }
}

/// The element name of the defined condition, e.g. `forbidden`.
pub fn condition_name(e: &StanzaError) -> String {
    let el: Element = e.clone().into();
    el.children()
        .find(|c| c.ns() == ns::XMPP_STANZAS && c.name() != "text")
        .map(|c| c.name().to_string())
        .unwrap_or_else(|| "undefined-condition".to_string())
}

fn describe_stanza_error(e: &StanzaError) -> String {
    let mut s = condition_name(e);
    if let Some(other) = &e.other {
        s.push_str(&format!(" ({})", other.name()));
    }
    if let Some(t) = e.texts.values().next() {
        s.push_str(&format!(": {t}"));
    }
    s
}
