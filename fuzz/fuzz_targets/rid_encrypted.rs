//! An encrypted RID message as `gridlink rid serve` decrypts it (RFC 6545 §9.1, checklist 28): the
//! `xenc:EncryptedData` in `XMLDocument` read, its key agreed (ECDH-ES) or unwrapped (RSA-OAEP) with
//! this endpoint's key, the content opened (AES-GCM) and spliced back. Hostile octets must give a
//! typed error, never a panic; what decrypts must be a message whose enclosed documents are all in
//! clear. The two throwaway keys (`fuzz/keys/`, made with openssl for this target only) stand for
//! an endpoint's EC P-256 and RSA TLS keys; the seeds (`seeds/rid_encrypted/`) were encrypted for
//! their certificates by the independent Python peer (`tests/py/xenc_peer.py`).
#![no_main]

use std::sync::LazyLock;

use gridlink::rid::xenc::{decrypt_message, is_encrypted, DecryptingKey};
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

fn key(pem: &str) -> DecryptingKey {
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).expect("the target's own key");
    DecryptingKey::new(&der).expect("an EC P-256 or RSA key")
}

static KEYS: LazyLock<[DecryptingKey; 2]> = LazyLock::new(|| {
    [
        key(include_str!("../keys/ec.key.pem")),
        key(include_str!("../keys/rsa.key.pem")),
    ]
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for k in KEYS.iter() {
        if let Ok(clear) = decrypt_message(text, k) {
            assert!(
                !is_encrypted(&clear),
                "decrypted, yet still encrypted: {clear}"
            );
        }
    }
});
