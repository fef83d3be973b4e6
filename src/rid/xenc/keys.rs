//! The keys of XML Encryption: the recipient's public key, read from its certificate (RSA, or EC
//! P-256), and this endpoint's private key (its TLS key, the one `sign` signs with) to decrypt.
//! Key material is never logged and never leaves these types except as the crypto library needs it.

use aws_lc_rs::agreement;
use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, PrivateDecryptingKey, PublicEncryptingKey};
use tokio_rustls::rustls::pki_types::PrivateKeyDer;

use super::error::XencError;

/// DER `OBJECT IDENTIFIER rsaEncryption` (1.2.840.113549.1.1.1).
const OID_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
/// DER `OBJECT IDENTIFIER prime256v1` (1.2.840.10045.3.1.7).
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// A recipient's public key.
pub enum RecipientKey {
    /// RSA: key transport with RSA-OAEP.
    Rsa(PublicEncryptingKey),
    /// EC P-256: key agreement ECDH-ES; the uncompressed point (`04 || X || Y`).
    P256(Vec<u8>),
}

impl std::fmt::Debug for RecipientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecipientKey::Rsa(_) => "RecipientKey::Rsa",
            RecipientKey::P256(_) => "RecipientKey::P256",
        })
    }
}

/// The recipient's certificate (DER) and its public key.
#[derive(Debug)]
pub struct Recipient {
    /// The certificate, identifying the recipient in `RecipientKeyInfo`/`KeyInfo`.
    pub cert: Vec<u8>,
    /// Its public key.
    pub key: RecipientKey,
}

impl Recipient {
    /// The recipient whose certificate (DER) this is.
    pub fn from_cert(cert: &[u8]) -> Result<Recipient, XencError> {
        let der = tokio_rustls::rustls::pki_types::CertificateDer::from(cert);
        let ee = webpki::EndEntityCert::try_from(&der)
            .map_err(|e| XencError::Key(format!("recipient certificate: {e}")))?;
        let spki = ee.subject_public_key_info();
        let spki: &[u8] = spki.as_ref();
        let key = if contains(spki, OID_RSA) {
            RecipientKey::Rsa(
                PublicEncryptingKey::from_der(spki)
                    .map_err(|e| XencError::Key(format!("recipient RSA key: {e}")))?,
            )
        } else if contains(spki, OID_P256) {
            // SubjectPublicKeyInfo ends with the BIT STRING (no unused bits) of the point.
            let point = spki
                .get(spki.len().saturating_sub(65)..)
                .filter(|p| p.len() == 65 && p[0] == 0x04)
                .ok_or_else(|| {
                    XencError::Key("recipient P-256 key is not an uncompressed point".into())
                })?;
            RecipientKey::P256(point.to_vec())
        } else {
            return Err(XencError::Key(
                "the recipient's certificate holds neither an RSA nor an EC P-256 key".into(),
            ));
        };
        Ok(Recipient {
            cert: cert.to_vec(),
            key,
        })
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// This endpoint's private key, to decrypt what was encrypted for its certificate.
pub enum DecryptingKey {
    /// RSA (OAEP key transport).
    Rsa(OaepPrivateDecryptingKey),
    /// EC P-256 (ECDH-ES); the key as PKCS#8 or SEC1 DER, parsed again for each agreement
    /// (aws-lc-rs' static agreement keys are not `Clone`).
    P256(Vec<u8>),
}

impl std::fmt::Debug for DecryptingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DecryptingKey::Rsa(_) => "DecryptingKey::Rsa",
            DecryptingKey::P256(_) => "DecryptingKey::P256",
        })
    }
}

impl DecryptingKey {
    /// A private key as rustls reads it (PKCS#8, PKCS#1 or SEC1).
    pub fn new(key: &PrivateKeyDer<'_>) -> Result<DecryptingKey, XencError> {
        let bad = |e: String| XencError::Key(format!("private key: {e}"));
        match key {
            PrivateKeyDer::Pkcs1(k) => rsa(&pkcs1_to_pkcs8(k.secret_pkcs1_der())),
            PrivateKeyDer::Sec1(k) => p256(k.secret_sec1_der()),
            PrivateKeyDer::Pkcs8(k) => {
                let der = k.secret_pkcs8_der();
                if contains(der, OID_RSA) {
                    rsa(der)
                } else if contains(der, OID_P256) {
                    p256(der)
                } else {
                    Err(bad("neither RSA nor EC P-256".into()))
                }
            }
            _ => Err(bad("unsupported key format".into())),
        }
    }

    /// The key of a PEM file (the endpoint's `tls_key`).
    pub fn from_pem(path: &std::path::Path) -> Result<DecryptingKey, XencError> {
        let pem =
            std::fs::read(path).map_err(|e| XencError::Key(format!("{}: {e}", path.display())))?;
        let key = rustls_pemfile::private_key(&mut pem.as_slice())
            .map_err(|e| XencError::Key(format!("{}: {e}", path.display())))?
            .ok_or_else(|| XencError::Key(format!("{}: no private key", path.display())))?;
        DecryptingKey::new(&key)
    }

    /// The P-256 private key for one agreement.
    pub fn p256_agreement_key(der: &[u8]) -> Result<agreement::PrivateKey, XencError> {
        agreement::PrivateKey::from_private_key_der(&agreement::ECDH_P256, der)
            .map_err(|e| XencError::Key(format!("private key: {e}")))
    }
}

fn rsa(pkcs8: &[u8]) -> Result<DecryptingKey, XencError> {
    let k = PrivateDecryptingKey::from_pkcs8(pkcs8)
        .map_err(|e| XencError::Key(format!("private RSA key: {e}")))?;
    Ok(DecryptingKey::Rsa(
        OaepPrivateDecryptingKey::new(k)
            .map_err(|_| XencError::Key("private RSA key unusable for OAEP".into()))?,
    ))
}

fn p256(der: &[u8]) -> Result<DecryptingKey, XencError> {
    DecryptingKey::p256_agreement_key(der)?;
    Ok(DecryptingKey::P256(der.to_vec()))
}

/// A DER length.
fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

/// A PKCS#1 `RSAPrivateKey` wrapped as PKCS#8 `PrivateKeyInfo` (aws-lc-rs reads RSA decryption keys
/// from PKCS#8 only): `SEQUENCE { INTEGER 0, SEQUENCE { rsaEncryption, NULL }, OCTET STRING key }`.
fn pkcs1_to_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00, 0x30, 0x0d];
    body.extend_from_slice(OID_RSA);
    body.extend_from_slice(&[0x05, 0x00, 0x04]);
    der_len(pkcs1.len(), &mut body);
    body.extend_from_slice(pkcs1);
    let mut out = vec![0x30];
    der_len(body.len(), &mut out);
    out.extend(body);
    out
}
