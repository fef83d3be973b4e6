//! XML Encryption 1.1 of RID messages (RFC 6545 §9.1, checklist 28): a `private` or `need-to-know`
//! restriction makes the enclosed IODEF document travel as `xenc:EncryptedData` (AES-256-GCM),
//! its key sent to the recipient's certificate by RSA-OAEP (SHA-256) or ECDH-ES (P-256, ConcatKDF,
//! AES-256 key wrap); RIDPolicy stays in clear text. `src/rid/README.md` ("Encryption") says why
//! it is built this way.
//!
//! Files, lowest first: `error.rs` and `uris.rs` (the error type and the identifiers), `kdf.rs`
//! (ConcatKDF), `keys.rs` (the recipient's public key and our private key), `span.rs` (where the
//! enclosed documents are in a message, and its restrictions), `encrypt.rs` and `decrypt.rs` (one
//! element), `message.rs` (a RID message).

mod decrypt;
mod encrypt;
mod error;
mod kdf;
mod keys;
mod message;
mod span;
mod uris;

pub use decrypt::decrypt_element;
pub use encrypt::{encrypt_element, encrypt_element_for, encrypt_element_with_key};
pub use error::XencError;
pub use keys::{DecryptingKey, Recipient, RecipientKey};
pub use message::{decrypt_message, encrypt_message, encrypt_message_for, is_encrypted, Sealed};
pub use span::{scan, Scan, Span};
pub use uris::*;
