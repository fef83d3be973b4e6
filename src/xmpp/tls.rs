//! The TLS client configuration gridlink uses for every connection.
//!
//! tokio-xmpp's built-in connectors hard-code their roots and cannot present a
//! client certificate, so gridlink builds its own `rustls::ClientConfig`:
//! system roots plus `--ca-file`, TLS 1.2 minimum (rustls has nothing older),
//! optional client certificate. Certificate verification is always on.
//!
//! RFC 8600 §8.3.1 asks Platforms to check the revocation status of the
//! Controller's certificate and allows pinning it (§8.3.6), still checking
//! revocation: `--crl-file` adds CRLs to webpki's path validation (strictly:
//! the end-entity certificate's status must be known from them and the CRL
//! current), and `--pin-sha256` additionally requires the server's public
//! key (SubjectPublicKeyInfo) to hash to one of the pins, after the normal
//! validation has passed — a pin never replaces it.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore,
    SignatureScheme,
};

use super::ConnectError;
use crate::config::Config;

/// Builds the client configuration from the connection settings.
pub fn client_config(cfg: &Config) -> Result<Arc<ClientConfig>, ConnectError> {
    let mut roots = RootCertStore::empty();
    // System roots: missing or partly unreadable bundles are not fatal when
    // an explicit CA file is given, so only the parsable ones are added.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(ca) = &cfg.ca_file {
        let certs = read_certs(ca)?;
        if certs.is_empty() {
            return Err(ConnectError::TlsConfig(format!(
                "{}: no PEM certificate found",
                ca.display()
            )));
        }
        for c in certs {
            roots.add(c).map_err(|e| {
                ConnectError::TlsConfig(format!("{}: unusable CA certificate: {e}", ca.display()))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let crls = load_crls(&cfg.crl_files)?;
    let mut webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if !crls.is_empty() {
        // Strict: a certificate whose issuer published none of these CRLs,
        // or a CRL past its nextUpdate, is refused rather than trusted.
        webpki = webpki
            .with_crls(crls)
            .only_check_end_entity_revocation()
            .enforce_revocation_expiration();
    }
    let webpki = webpki
        .build()
        .map_err(|e| ConnectError::TlsConfig(format!("certificate verifier: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = if cfg.pin_sha256.is_empty() {
        webpki
    } else {
        Arc::new(Pinned {
            inner: webpki,
            pins: decode_pins(&cfg.pin_sha256)?,
        })
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ConnectError::TlsConfig(e.to_string()))?
        .dangerous()
        // Not a weakening: `verifier` is webpki's own, optionally followed
        // by the pin check (`Pinned` calls it first and only adds a check).
        .with_custom_certificate_verifier(verifier);
    let config = match (&cfg.client_cert, &cfg.client_key) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert)?;
            let key = read_key(key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ConnectError::TlsConfig(format!("client certificate: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConnectError> {
    let data = std::fs::read(path)
        .map_err(|e| ConnectError::TlsConfig(format!("cannot read {}: {e}", path.display())))?;
    rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConnectError::TlsConfig(format!("{}: {e}", path.display())))
}

/// What a CRL covers: its issuer's name and issuing distribution point.
#[derive(PartialEq, Eq)]
struct CrlScope {
    issuer: Vec<u8>,
    point: Option<Vec<u8>>,
}

/// Reads every CRL and refuses two of the same issuer (and distribution
/// point): webpki consults only the first CRL it finds for an issuer, so a
/// stale one listed before the current one would hide a revocation.
fn load_crls(
    paths: &[std::path::PathBuf],
) -> Result<Vec<CertificateRevocationListDer<'static>>, ConnectError> {
    let mut crls = Vec::new();
    // (issuer, issuing distribution point) → the file it came from.
    let mut seen: Vec<(CrlScope, &Path)> = Vec::new();
    for path in paths {
        for crl in read_crls(path)? {
            let parsed = webpki::BorrowedCertRevocationList::from_der(crl.as_ref())
                .map(webpki::CertRevocationList::from)
                .map_err(|e| {
                    ConnectError::TlsConfig(format!("{}: unusable CRL: {e}", path.display()))
                })?;
            let scope = CrlScope {
                issuer: parsed.issuer().to_vec(),
                point: parsed.issuing_distribution_point().map(<[u8]>::to_vec),
            };
            if let Some((_, first)) = seen.iter().find(|(s, _)| *s == scope) {
                return Err(ConnectError::TlsConfig(format!(
                    "{} and {} hold CRLs of the same issuer: give only the current one",
                    first.display(),
                    path.display()
                )));
            }
            seen.push((scope, path));
            crls.push(crl);
        }
    }
    Ok(crls)
}

fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, ConnectError> {
    let data = std::fs::read(path)
        .map_err(|e| ConnectError::TlsConfig(format!("cannot read {}: {e}", path.display())))?;
    if !data.starts_with(b"-----") {
        // DER, as CAs usually publish them at their distribution points.
        return Ok(vec![CertificateRevocationListDer::from(data)]);
    }
    let crls = rustls_pemfile::crls(&mut data.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConnectError::TlsConfig(format!("{}: {e}", path.display())))?;
    if crls.is_empty() {
        return Err(ConnectError::TlsConfig(format!(
            "{}: no X509 CRL found (PEM or DER expected)",
            path.display()
        )));
    }
    Ok(crls)
}

/// The base64 of a SHA-256 over a certificate's SubjectPublicKeyInfo: the
/// form `--pin-sha256` takes (as HPKP's `pin-sha256` and
/// `openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`).
pub fn spki_sha256(cert: &CertificateDer<'_>) -> Result<String, ConnectError> {
    let digest =
        spki_digest(cert).map_err(|e| ConnectError::TlsConfig(format!("certificate: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(digest))
}

fn spki_digest(cert: &CertificateDer<'_>) -> Result<[u8; 32], webpki::Error> {
    let ee = webpki::EndEntityCert::try_from(cert)?;
    Ok(Sha256::digest(ee.subject_public_key_info().as_ref()).into())
}

fn decode_pins(pins: &[String]) -> Result<Vec<[u8; 32]>, ConnectError> {
    pins.iter()
        .map(|p| {
            let text = p.trim().strip_prefix("sha256/").unwrap_or(p.trim());
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .ok_or_else(|| {
                    ConnectError::TlsConfig(format!(
                        "pin {p:?} is not the base64 of a SHA-256 digest (44 characters)"
                    ))
                })
        })
        .collect()
}

/// webpki's verification, then the key pin.
#[derive(Debug)]
struct Pinned {
    inner: Arc<WebPkiServerVerifier>,
    pins: Vec<[u8; 32]>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let digest = spki_digest(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        if self.pins.contains(&digest) {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch(
                    base64::engine::general_purpose::STANDARD.encode(digest),
                ))),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The pin check's failure, carried through rustls to
/// [`classify_handshake_error`]: the base64 key hash the server presented.
#[derive(Debug)]
struct PinMismatch(String);

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "server key sha256/{} is not pinned", self.0)
    }
}

impl std::error::Error for PinMismatch {}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConnectError> {
    let data = std::fs::read(path)
        .map_err(|e| ConnectError::TlsConfig(format!("cannot read {}: {e}", path.display())))?;
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|e| ConnectError::TlsConfig(format!("{}: {e}", path.display())))?
        .ok_or_else(|| {
            ConnectError::TlsConfig(format!("{}: no PEM private key found", path.display()))
        })
}

/// Turns a handshake failure into a [`ConnectError`] that says whether the
/// certificate was the problem.
pub(crate) fn classify_handshake_error(name: &str, e: std::io::Error) -> ConnectError {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        if let rustls::Error::InvalidCertRevocationList(e) = tls {
            // E.g. a CRL in the issuer's name but not signed by its key.
            return ConnectError::RevokedCertificate {
                name: name.to_string(),
                reason: format!("unusable CRL ({e:?})"),
            };
        }
        if let rustls::Error::InvalidCertificate(reason) = tls {
            match reason {
                CertificateError::Revoked
                | CertificateError::UnknownRevocationStatus
                | CertificateError::ExpiredRevocationList
                | CertificateError::ExpiredRevocationListContext { .. } => {
                    return ConnectError::RevokedCertificate {
                        name: name.to_string(),
                        reason: format!("{reason:?}"),
                    }
                }
                CertificateError::Other(OtherError(other)) => {
                    if let Some(PinMismatch(got)) = other.downcast_ref::<PinMismatch>() {
                        return ConnectError::PinMismatch {
                            name: name.to_string(),
                            got: got.clone(),
                        };
                    }
                }
                _ => {}
            }
            return ConnectError::UntrustedCertificate {
                name: name.to_string(),
                reason: format!("{reason:?}"),
            };
        }
        return ConnectError::Tls {
            name: name.to_string(),
            reason: tls.to_string(),
        };
    }
    ConnectError::Tls {
        name: name.to_string(),
        reason: e.to_string(),
    }
}
