//! Namespaces and algorithm identifiers of XML Encryption 1.1 (W3C, 2013) and XML Signature 1.1.

/// `xenc:` (XML Encryption 1.0 syntax, still the element namespace in 1.1).
pub const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
/// `xenc11:` (elements new in XML Encryption 1.1: `KeyDerivationMethod`, `ConcatKDFParams`, `MGF`).
pub const NS_XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
/// `ds:`.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// `dsig11:` (`ECKeyValue`).
pub const NS_DSIG11: &str = "http://www.w3.org/2009/xmldsig11#";

/// `EncryptedData/@Type`: the plaintext is one element.
pub const TYPE_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";
/// Content encryption: AES-256-GCM (96-bit IV first, 128-bit tag last; xmlenc-core1 §5.2.4).
pub const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
/// AES-128-GCM (accepted on decryption: what xmlsec1 templates often use).
pub const AES128_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
/// Key transport RSA-OAEP, XML Encryption 1.1 (digest and MGF named by child elements).
pub const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
/// Key transport RSA-OAEP with MGF1-SHA-1 (XML Encryption 1.0): accepted on decryption only, with
/// the SHA-1 digest, for xmlsec1 1.2 (which knows no other RSA-OAEP). Never sent.
pub const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
/// Key agreement ECDH with an ephemeral originator key.
pub const ECDH_ES: &str = "http://www.w3.org/2009/xmlenc11#ECDH-ES";
/// Key derivation ConcatKDF (NIST SP 800-56A §5.8.1).
pub const CONCAT_KDF: &str = "http://www.w3.org/2009/xmlenc11#ConcatKDF";
/// Key wrap AES-256 (RFC 3394).
pub const KW_AES256: &str = "http://www.w3.org/2001/04/xmlenc#kw-aes256";
/// Key wrap AES-128 (accepted on decryption).
pub const KW_AES128: &str = "http://www.w3.org/2001/04/xmlenc#kw-aes128";
/// SHA-256 (`ds:DigestMethod` in OAEP and ConcatKDF parameters).
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// SHA-1, the default digest of `rsa-oaep-mgf1p`.
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
/// MGF1 with SHA-256 (`xenc11:MGF`).
pub const MGF1_SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";
/// MGF1 with SHA-1, `xenc11:MGF`'s default for `xenc11#rsa-oaep`.
pub const MGF1_SHA1: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha1";
/// The P-256 curve in `dsig11:NamedCurve/@URI`.
pub const CURVE_P256: &str = "urn:oid:1.2.840.10045.3.1.7";
