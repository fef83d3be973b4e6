//! The one error type of signing and checking.

/// Why a signature cannot be made or is refused.
#[derive(Debug, thiserror::Error)]
pub enum SigError {
    /// The document cannot be read for signing or checking.
    #[error("XML: {0}")]
    Xml(String),
    /// The message has no signature where one is required.
    #[error("no {0} signature")]
    Missing(&'static str),
    /// The signature's structure is not what RID signatures use.
    #[error("signature: {0}")]
    Malformed(String),
    /// An algorithm RID does not accept (only exclusive c14n, the enveloped-signature and XPath
    /// Filter 2.0 transforms, SHA-256 digests, RSA/ECDSA-SHA-256 signatures).
    #[error("algorithm not accepted: {0}")]
    Algorithm(String),
    /// SHA-1 (RFC 6545 §7.1.1: SHA-1 should not be used).
    #[error("SHA-1 refused (RFC 6545 §7.1.1): {0}")]
    Sha1(String),
    /// XSLT transforms (RFC 6545 §9.1: restrict XSLT).
    #[error("XSLT transform refused (RFC 6545 §9.1)")]
    Xslt,
    /// A reference to anything but this document (never fetched).
    #[error("reference {0:?} refused: only URI=\"\" (this document) is signed or checked")]
    Reference(String),
    /// The signed content changed.
    #[error("digest mismatch: the signed content was altered")]
    Digest,
    /// The signature value does not verify with the signer's key.
    #[error("signature value does not verify with the signer's certificate")]
    BadSignature,
    /// The signer's certificate is unusable or untrusted.
    #[error("certificate: {0}")]
    Certificate(String),
    /// The key cannot sign.
    #[error("signing key: {0}")]
    Key(String),
}
