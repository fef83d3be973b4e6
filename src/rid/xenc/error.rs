//! The one error type of XML Encryption.

/// Why a document cannot be encrypted or decrypted. A received message that fails with any of them
/// is answered Acknowledgement Denied, Justification `Encryption` (RFC 6545 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum XencError {
    /// The message must be encrypted (a `private` or `need-to-know` restriction) but there is no
    /// recipient certificate to encrypt for: it is not sent (RFC 6545 §9.1 MUST).
    #[error("the message is restricted ({0}) and must be encrypted, but the recipient's certificate is unknown: not sent")]
    NoRecipient(String),
    /// The recipient's or our own key cannot be used (type, curve, encoding).
    #[error("key: {0}")]
    Key(String),
    /// The document cannot be read, or the encrypted element is not where or what RID expects.
    #[error("XML: {0}")]
    Xml(String),
    /// The `EncryptedData` structure is not what gridlink reads.
    #[error("EncryptedData: {0}")]
    Malformed(String),
    /// An algorithm gridlink does not accept.
    #[error("algorithm not accepted: {0}")]
    Algorithm(String),
    /// Decryption failed: another recipient's key, or the ciphertext or its tag was altered.
    /// Deliberately one opaque variant (no padding-oracle style detail to the sender).
    #[error("cannot decrypt: wrong key or altered ciphertext")]
    Decrypt,
    /// The crypto library failed while encrypting.
    #[error("encryption failed: {0}")]
    Encrypt(String),
}
