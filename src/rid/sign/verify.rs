//! Checking the signatures of a received RID message: the sending peer's enveloped signature with
//! the certificate it presented in TLS (a certificate in `KeyInfo` is not trusted for it), and the
//! originator's detached signatures with the certificate in their `KeyInfo`, which must chain to
//! the configured CA (RFC 6545 §9.3.2: every party can validate the originator).

use sha2::{Digest, Sha256};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::RootCertStore;

use super::c14n::canonicalize;
use super::dsig::{parse, select, Kind, Parsed, Scope};
use super::error::SigError;
use super::keys::{validate_path, verify};
use super::tree::{read, El};
use super::uris::NS_DS;
use crate::rid::model::NS_RID;

/// What the originator's signatures proved.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The originators' certificates (DER), one per detached signature.
    pub signers: Vec<Vec<u8>>,
}

/// The `ds:Signature`s in `RIDPolicy/ReportSchema/Signature`, each with its namespace scope.
fn signatures(root: &El) -> Result<Vec<(&El, Scope)>, SigError> {
    if root.ns != NS_RID || root.name != "RID" {
        return Err(SigError::Xml("not a RID document".into()));
    }
    let mut out = Vec::new();
    let mut scope: Scope = root.decls.clone();
    for p in root.named(NS_RID, "RIDPolicy") {
        let mut s1 = scope.clone();
        s1.extend(p.decls.iter().cloned());
        for rs in p.named(NS_RID, "ReportSchema") {
            let mut s2 = s1.clone();
            s2.extend(rs.decls.iter().cloned());
            for w in rs.named(NS_RID, "Signature") {
                for sig in w.named(NS_DS, "Signature") {
                    let mut s3 = s2.clone();
                    s3.extend(w.decls.iter().cloned());
                    s3.extend(sig.decls.iter().cloned());
                    out.push((sig, s3));
                }
            }
        }
    }
    scope.clear();
    Ok(out)
}

/// Digest and signature value of `p` (the signed octets already made) with `cert`.
fn check(p: &Parsed<'_>, octets: &str, cert: &[u8]) -> Result<(), SigError> {
    if Sha256::digest(octets.as_bytes()).as_slice() != p.digest.as_slice() {
        return Err(SigError::Digest);
    }
    verify(
        cert,
        &p.method,
        canonicalize(p.signed_info, None).as_bytes(),
        &p.value,
    )
}

/// Checks the sending peer's enveloped signature (exactly one) with its TLS certificate (DER).
pub fn verify_message(xml: &[u8], peer_cert: &[u8]) -> Result<(), SigError> {
    verify_message_with(xml, peer_cert)
}

pub(super) fn verify_message_with(xml: &[u8], cert: &[u8]) -> Result<(), SigError> {
    let root = read(xml)?;
    let mut found = Vec::new();
    for (sig, scope) in signatures(&root)? {
        let p = parse(sig, &scope)?;
        if p.kind == Kind::Enveloped {
            found.push((sig, p));
        }
    }
    let (sig, p) = match found.len() {
        0 => return Err(SigError::Missing("enveloped (sending peer's)")),
        1 => found.remove(0),
        n => {
            return Err(SigError::Malformed(format!(
                "{n} enveloped signatures (the sending peer's is the only one)"
            )))
        }
    };
    check(&p, &canonicalize(&root, Some(sig)), cert)
}

/// Checks every detached (originator's) signature, at least one: the certificate in its `KeyInfo`
/// must chain to `roots`, and the selected content must be unchanged.
pub fn verify_origin(xml: &[u8], roots: &RootCertStore) -> Result<Checked, SigError> {
    let root = read(xml)?;
    let mut signers = Vec::new();
    for (sig, scope) in signatures(&root)? {
        let p = parse(sig, &scope)?;
        let Kind::Detached { xpath, scope } = &p.kind else {
            continue;
        };
        let Some(cert) = p.certs.first() else {
            return Err(SigError::Certificate(
                "the originator's signature carries no X509Certificate".into(),
            ));
        };
        let chain: Vec<CertificateDer<'_>> = p.certs[1..]
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        validate_path(cert, &chain, roots)?;
        let selected = select(&root, xpath, scope)?;
        if selected.is_empty() {
            return Err(SigError::Malformed(format!("{xpath} selects nothing")));
        }
        let octets: String = selected.iter().map(|e| canonicalize(e, None)).collect();
        check(&p, &octets, cert)?;
        signers.push(cert.clone());
    }
    if signers.is_empty() {
        return Err(SigError::Missing("detached (originator's)"));
    }
    Ok(Checked { signers })
}
