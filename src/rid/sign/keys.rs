//! The keys of RID signatures: a peer signs with its TLS key (RSA or ECDSA P-256, SHA-256) through
//! rustls' signing keys, and is checked with the public key of its certificate through webpki. XML
//! Signature writes ECDSA signatures as `r || s` (RFC 4050 / XMLDSig 1.1), TLS as DER: converted here.

use std::sync::Arc;

use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio_rustls::rustls::{RootCertStore, SignatureAlgorithm, SignatureScheme};

use super::error::SigError;

/// `SignatureMethod` RSA PKCS#1 v1.5 with SHA-256 (RFC 6931 §2.3.2).
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// `SignatureMethod` ECDSA with SHA-256 (RFC 6931 §2.3.6).
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

/// The signature algorithms accepted, and their TLS names.
fn scheme(method: &str) -> Result<SignatureScheme, SigError> {
    match method {
        RSA_SHA256 => Ok(SignatureScheme::RSA_PKCS1_SHA256),
        ECDSA_SHA256 => Ok(SignatureScheme::ECDSA_NISTP256_SHA256),
        m if m.to_ascii_lowercase().contains("sha1") => Err(SigError::Sha1(m.into())),
        m => Err(SigError::Algorithm(format!("SignatureMethod {m}"))),
    }
}

/// This peer's signing key and the certificate that goes into `KeyInfo`.
pub struct SigningKey {
    key: Arc<dyn tokio_rustls::rustls::sign::SigningKey>,
    /// The signer's certificate (DER), first of its chain.
    pub cert: CertificateDer<'static>,
    /// The `SignatureMethod` URI.
    pub method: &'static str,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("method", &self.method)
            .finish()
    }
}

impl SigningKey {
    /// A key (PKCS#8, PKCS#1 or SEC1) with its certificate.
    pub fn new(
        cert: CertificateDer<'static>,
        key: &PrivateKeyDer<'_>,
    ) -> Result<SigningKey, SigError> {
        let key =
            aws_lc_rs::sign::any_supported_type(key).map_err(|e| SigError::Key(e.to_string()))?;
        let method = match key.algorithm() {
            SignatureAlgorithm::RSA => RSA_SHA256,
            SignatureAlgorithm::ECDSA => ECDSA_SHA256,
            other => {
                return Err(SigError::Key(format!(
                    "{other:?} keys are not used for RID signatures (RSA or ECDSA P-256)"
                )))
            }
        };
        Ok(SigningKey { key, cert, method })
    }

    /// The key and first certificate of PEM files (the endpoint's TLS identity).
    pub fn from_pem(cert: &std::path::Path, key: &std::path::Path) -> Result<SigningKey, SigError> {
        let (certs, key) =
            crate::rid::config::identity(cert, key).map_err(|e| SigError::Key(e.to_string()))?;
        let first = certs
            .into_iter()
            .next()
            .ok_or_else(|| SigError::Key("no certificate".into()))?;
        SigningKey::new(first, &key)
    }

    /// The signature value of `msg` as XML Signature writes it.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SigError> {
        let s = scheme(self.method)?;
        let signer = self
            .key
            .choose_scheme(&[s])
            .ok_or_else(|| SigError::Key(format!("the key cannot sign with {s:?} (P-256 only)")))?;
        let sig = signer.sign(msg).map_err(|e| SigError::Key(e.to_string()))?;
        if self.method == ECDSA_SHA256 {
            der_to_raw(&sig)
        } else {
            Ok(sig)
        }
    }
}

/// Checks `sig` over `msg` with the public key of `cert` (DER).
pub fn verify(cert: &[u8], method: &str, msg: &[u8], sig: &[u8]) -> Result<(), SigError> {
    let s = scheme(method)?;
    let der = CertificateDer::from(cert);
    let ee =
        webpki::EndEntityCert::try_from(&der).map_err(|e| SigError::Certificate(e.to_string()))?;
    let sig = if method == ECDSA_SHA256 {
        raw_to_der(sig)?
    } else {
        sig.to_vec()
    };
    let algs = aws_lc_rs::default_provider().signature_verification_algorithms;
    let candidates = algs
        .mapping
        .iter()
        .find(|(sch, _)| *sch == s)
        .map(|(_, a)| *a)
        .unwrap_or(&[]);
    if candidates
        .iter()
        .any(|alg| ee.verify_signature(*alg, msg, &sig).is_ok())
    {
        Ok(())
    } else {
        Err(SigError::BadSignature)
    }
}

/// Validates `cert` (with `intermediates`) up to one of `roots` (RFC 5280 path, validity dates;
/// client or server authentication usage: RID peers' certificates serve both).
pub fn validate_path(
    cert: &[u8],
    intermediates: &[CertificateDer<'_>],
    roots: &RootCertStore,
) -> Result<(), SigError> {
    let der = CertificateDer::from(cert);
    let ee =
        webpki::EndEntityCert::try_from(&der).map_err(|e| SigError::Certificate(e.to_string()))?;
    let algs = aws_lc_rs::default_provider().signature_verification_algorithms;
    let now = UnixTime::now();
    let mut last = String::new();
    for usage in [
        webpki::KeyUsage::client_auth(),
        webpki::KeyUsage::server_auth(),
    ] {
        match ee.verify_for_usage(
            algs.all,
            &roots.roots,
            intermediates,
            now,
            usage,
            None,
            None,
        ) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(SigError::Certificate(format!(
        "the signer's certificate does not chain to the configured CA: {last}"
    )))
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` → `r || s` (32 bytes each, P-256).
fn der_to_raw(der: &[u8]) -> Result<Vec<u8>, SigError> {
    let bad = || SigError::Key("malformed ECDSA signature".into());
    let body = match der {
        [0x30, len, rest @ ..] if *len as usize == rest.len() && *len < 0x80 => rest,
        _ => return Err(bad()),
    };
    let mut out = Vec::with_capacity(64);
    let mut rest = body;
    for _ in 0..2 {
        let (n, tail) = match rest {
            [0x02, n, tail @ ..] if (*n as usize) <= tail.len() => (*n as usize, tail),
            _ => return Err(bad()),
        };
        let int = &tail[..n];
        let int = match int.iter().position(|b| *b != 0) {
            Some(i) => &int[i..],
            None => &[][..],
        };
        if int.len() > 32 {
            return Err(bad());
        }
        out.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        out.extend_from_slice(int);
        rest = &tail[n..];
    }
    Ok(out)
}

/// `r || s` → DER (what webpki checks).
fn raw_to_der(raw: &[u8]) -> Result<Vec<u8>, SigError> {
    if raw.len() != 64 {
        return Err(SigError::BadSignature);
    }
    let int = |x: &[u8]| {
        let x = match x.iter().position(|b| *b != 0) {
            Some(i) => &x[i..],
            None => &[0u8][..],
        };
        let mut v = vec![0x02];
        if x[0] & 0x80 != 0 {
            v.push(x.len() as u8 + 1);
            v.push(0);
        } else {
            v.push(x.len() as u8);
        }
        v.extend_from_slice(x);
        v
    };
    let (r, s) = (int(&raw[..32]), int(&raw[32..]));
    let mut out = vec![0x30, (r.len() + s.len()) as u8];
    out.extend(r);
    out.extend(s);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_encodings_round_trip() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80;
        raw[63] = 1;
        let der = raw_to_der(&raw).unwrap();
        assert_eq!(der_to_raw(&der).unwrap(), raw);
        assert!(
            verify(b"", "http://www.w3.org/2000/09/xmldsig#rsa-sha1", b"", b"")
                .unwrap_err()
                .to_string()
                .contains("SHA-1")
        );
    }
}
