//! The `[rid]` table ([`RidConfig`]) and its `[[rid.peer]]`s ([`PeerConfig`]): where the RID endpoint
//! listens, its certificate and the CA its peers' certificates chain to, and per peer the identity
//! its certificate must show, the message types it may send, the topic its Reports go to and where
//! answers sent later (callbacks, Results) reach it. Also the TLS configurations both directions use
//! (RFC 6546 §3: TLS 1.2+, mutual X.509 authentication).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName};
use serde::Deserialize;
use sha2::Digest;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::model::MsgType;

/// The IANA port of RID over HTTP/TLS (RFC 6546 §3).
pub const RID_PORT: u16 = 4590;

/// Why the RID endpoint cannot start or send.
#[derive(Debug, thiserror::Error)]
pub enum RidConfigError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Certificates or keys are unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// The table is inconsistent.
    #[error("[rid]: {0}")]
    Invalid(String),
}

/// `[rid]`: one RID endpoint (`gridlink rid serve`; its flags override these keys).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RidConfig {
    /// Address to listen on (RFC 6546: port 4590).
    pub listen: Option<String>,
    /// This endpoint's certificate chain (PEM).
    pub tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// The CA(s) peers' certificates must chain to (PEM): mutual TLS is always required.
    pub client_ca: Option<PathBuf>,
    /// Certificate revocation lists (PEM or DER files) for the CAs of the peers' certificate
    /// paths (RFC 6545 §9.3.1: path validation includes revocation). When set, a peer certificate
    /// (client or server side) that a CRL revokes, whose issuer published none of these CRLs, or
    /// checked against a CRL past its nextUpdate is refused by TLS.
    pub crl: Option<Vec<PathBuf>>,
    /// Topic for Reports of peers without their own `topic`.
    pub topic: Option<String>,
    /// Topic TraceRequests and InvestigationRequests are published to (default `rid-requests`).
    pub requests_topic: Option<String>,
    /// Topics a Query by IncidentID is answered from (default: the Report topics).
    pub query_topics: Option<Vec<String>>,
    /// This system's address as RIDPolicy/Node of the messages it makes (default: the listen IP).
    pub node: Option<String>,
    /// Directory for pending requests and callback tokens (default: the state directory).
    pub state_dir: Option<PathBuf>,
    /// The peers.
    pub peer: Option<Vec<PeerConfig>>,
    /// Sign every message sent and answered with `tls_key` (RFC 6545 §9.1; default true).
    pub sign: Option<bool>,
    /// Refuse messages without signatures (default false: present signatures are always checked).
    pub require_signatures: Option<bool>,
}

/// `[[rid.peer]]`: one RID peer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Its DNS-ID: a subjectAltName DNS name its certificate must carry (RFC 6125; CN is not used).
    pub name: String,
    /// Pinned certificate: SHA-256 (hex) of its DER certificate, checked besides the name.
    pub pin_sha256: Option<String>,
    /// Message types it may send (default: Report, Query, Acknowledgement, Result).
    pub allow: Option<Vec<String>>,
    /// Topic its Reports go to (default: `[rid] topic`).
    pub topic: Option<String>,
    /// Its RID endpoint for answers sent later. Unset (the RFC's way, RFC 6546 §3), a callback
    /// connects to the address the request came from, on `callback_port`, and checks the
    /// certificate for `name`; set, answers go to this URL instead (a peer behind NAT, say).
    pub url: Option<String>,
    /// The port of its RID endpoint that callbacks reach at the request's source address
    /// (default 4590, RFC 6546 §3).
    pub callback_port: Option<u16>,
}

impl PeerConfig {
    /// The message types it may send.
    pub fn allowed(&self) -> Result<Vec<MsgType>, RidConfigError> {
        match &self.allow {
            None => Ok(vec![
                MsgType::Report,
                MsgType::Query,
                MsgType::Acknowledgement,
                MsgType::Result,
            ]),
            Some(v) => v
                .iter()
                .map(|s| {
                    MsgType::parse(s).ok_or_else(|| {
                        RidConfigError::Invalid(format!(
                            "peer {}: unknown message type {s:?} (one of {})",
                            self.name,
                            MsgType::VALUES.join(", ")
                        ))
                    })
                })
                .collect(),
        }
    }

    /// Where answers sent later go: `url`, else `https://NAME:PORT/` (which a callback connects to
    /// at the request's source address, see [`PendingRequest`](super::pending::PendingRequest)).
    pub fn url(&self) -> String {
        self.url.clone().unwrap_or_else(|| {
            format!(
                "https://{}:{}/",
                self.name,
                self.callback_port.unwrap_or(RID_PORT)
            )
        })
    }

    /// Whether `der` (a certificate the TLS handshake already chained to the CA) is this peer's:
    /// its DNS-ID matches `name` and, when pinned, its hash the pin.
    pub fn matches(&self, der: &[u8]) -> bool {
        let cert = CertificateDer::from(der);
        let Ok(ee) = webpki::EndEntityCert::try_from(&cert) else {
            return false;
        };
        let Ok(name) = ServerName::try_from(self.name.as_str()) else {
            return false;
        };
        if ee.verify_is_valid_for_subject_name(&name).is_err() {
            return false;
        }
        match &self.pin_sha256 {
            None => true,
            Some(pin) => {
                let hash: String = sha2::Sha256::digest(der)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                hash.eq_ignore_ascii_case(pin.trim())
            }
        }
    }
}

/// The configured peer, other than the `sender`, whose certificate is one of `certs` (the
/// originators' certificates of a request's detached signatures, already chained to the CA): the
/// originator a Denied Acknowledgement must also reach (RFC 6545 §6.2, §7.1). `None` when the
/// originator is the sender itself or a system this one has no table for.
pub fn originator<'a>(
    peers: impl Iterator<Item = &'a PeerConfig>,
    sender: &str,
    certs: &[Vec<u8>],
) -> Option<String> {
    peers
        .filter(|p| p.name != sender)
        .find(|p| certs.iter().any(|c| p.matches(c)))
        .map(|p| p.name.clone())
}

fn read(path: &Path) -> Result<Vec<u8>, RidConfigError> {
    std::fs::read(path).map_err(|source| RidConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn tls(e: impl std::fmt::Display) -> RidConfigError {
    RidConfigError::Tls(e.to_string())
}

/// A certificate chain and key from PEM files.
pub fn identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), RidConfigError> {
    let certs = CertificateDer::pem_slice_iter(&read(cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(tls)?;
    if certs.is_empty() {
        return Err(tls(format!("no certificate in {}", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(tls)?;
    Ok((certs, key))
}

/// The CA certificates of a PEM file.
pub fn roots(ca: &Path) -> Result<RootCertStore, RidConfigError> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&read(ca)?) {
        roots.add(c.map_err(tls)?).map_err(tls)?;
    }
    if roots.is_empty() {
        return Err(tls(format!("no CA certificate in {}", ca.display())));
    }
    Ok(roots)
}

/// The CRLs of these files (PEM, several per file, or one DER CRL per file).
pub fn crls(
    files: &[PathBuf],
) -> Result<Vec<CertificateRevocationListDer<'static>>, RidConfigError> {
    let mut out = Vec::new();
    for f in files {
        let bytes = read(f)?;
        let pem: Vec<_> = CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| tls(format!("{}: {e}", f.display())))?;
        if pem.is_empty() {
            // Not PEM: one DER CRL (a SEQUENCE).
            if bytes.first() != Some(&0x30) {
                return Err(tls(format!("no CRL in {}", f.display())));
            }
            out.push(CertificateRevocationListDer::from(bytes));
        } else {
            out.extend(pem);
        }
    }
    Ok(out)
}

/// The server side: TLS 1.2 and 1.3 only, a client certificate chaining to `client_ca` required,
/// HTTP/1.1 (RFC 6546 §3).
pub fn server_tls(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
) -> Result<ServerConfig, RidConfigError> {
    server_tls_with_crls(cert, key, client_ca, &[])
}

/// [`server_tls`] with revocation checked against `crl` files (none: no revocation check). Every
/// certificate of a client's path but the trust anchor must be covered by one of them, and a CRL
/// past its nextUpdate is refused (strict: RFC 6545 §9.3.1 makes revocation part of validation).
pub fn server_tls_with_crls(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
    crl: &[PathBuf],
) -> Result<ServerConfig, RidConfigError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let mut builder =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(client_ca)?), provider.clone());
    let crls = crls(crl)?;
    if !crls.is_empty() {
        builder = builder.with_crls(crls).enforce_revocation_expiration();
    }
    let verifier = builder.build().map_err(tls)?;
    let (certs, key) = identity(cert, key)?;
    let mut c = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(tls)?;
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(c)
}

/// The client side: the peer's server certificate checked against `ca` and its name, this
/// endpoint's certificate presented (mutual TLS), TLS 1.2 and 1.3 only.
pub fn client_tls(cert: &Path, key: &Path, ca: &Path) -> Result<ClientConfig, RidConfigError> {
    client_tls_with_crls(cert, key, ca, &[])
}

/// [`client_tls`] with the peer's server certificate checked against `crl` files, as strictly as
/// [`server_tls_with_crls`] checks clients.
pub fn client_tls_with_crls(
    cert: &Path,
    key: &Path,
    ca: &Path,
    crl: &[PathBuf],
) -> Result<ClientConfig, RidConfigError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let mut builder =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots(ca)?), provider.clone());
    let crls = crls(crl)?;
    if !crls.is_empty() {
        builder = builder.with_crls(crls).enforce_revocation_expiration();
    }
    let verifier = builder.build().map_err(tls)?;
    let (certs, key) = identity(cert, key)?;
    let mut c = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls)?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(certs, key)
        .map_err(tls)?;
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(c)
}
