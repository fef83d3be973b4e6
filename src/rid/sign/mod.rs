//! XML Signatures on RID messages (RFC 6545 §9.1, §9.3.2): every message carries the sending peer's
//! *enveloped* signature over the whole RID document; a Request also carries its originator's
//! *detached* signature over a RecordItem (or a timestamp), which every party checks. Exclusive
//! c14n only, SHA-256 only, no XSLT, no external references. `src/rid/README.md` ("Signatures")
//! says where the signatures sit in the schema and why.
//!
//! Files, lowest first: `tree.rs` (the faithful XML tree), `c14n.rs` (exclusive canonicalization),
//! `keys.rs` (signing and checking keys), `dsig.rs` (the `ds:Signature` element, made and read),
//! `make.rs` (signing a message), `verify.rs` (checking one), `policy.rs` (what an endpoint signs and requires).

mod c14n;
mod dsig;
mod keys;
mod make;
mod policy;
mod tree;
mod verify;

pub use c14n::canonicalize;
pub use keys::{SigningKey, ECDSA_SHA256, RSA_SHA256};
pub use make::{sign_message, sign_origin};
pub use policy::Signatures;
pub use tree::{read, El};
pub use verify::{verify_message, verify_origin, Checked};

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

/// The XML Signature namespace.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive XML Canonicalization 1.0 without comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// XPath Filter 2.0 (how RFC 6545 §7.1.1 selects the RecordItem).
pub const FILTER2: &str = "http://www.w3.org/2002/06/xmldsig-filter2";
/// SHA-256 digests.
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
