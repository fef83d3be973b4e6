//! The namespace and algorithm URIs RID signatures use (and the only ones they accept).

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
