//! XML Signatures on RID messages (RFC 6545 §9.1, §9.3.2): every message carries the sending peer's
//! *enveloped* signature over the whole RID document; a Request also carries its originator's
//! *detached* signature over a RecordItem (or a timestamp), which every party checks. Exclusive
//! c14n only, SHA-256 only, no XSLT, no external references. `src/rid/README.md` ("Signatures")
//! says where the signatures sit in the schema and why.
//!
//! Files, lowest first: `error.rs` and `uris.rs` (the error type and the algorithm URIs), `tree.rs` (the faithful XML tree), `c14n.rs` (exclusive canonicalization),
//! `keys.rs` (signing and checking keys), `dsig.rs` (the `ds:Signature` element, made and read),
//! `make.rs` (signing a message), `verify.rs` (checking one), `policy.rs` (what an endpoint signs and requires).

mod c14n;
mod dsig;
mod error;
mod keys;
mod make;
mod policy;
mod tree;
mod uris;
mod verify;

pub use c14n::canonicalize;
pub use error::SigError;
pub use keys::{SigningKey, ECDSA_SHA256, RSA_SHA256};
pub use make::{sign_message, sign_origin};
pub use policy::Signatures;
pub use tree::{read, El};
pub use uris::{ENVELOPED, EXC_C14N, FILTER2, NS_DS, SHA256};
pub use verify::{verify_message, verify_origin, Checked};
