//! OpenPGP checks of polled CSAF advisories (CSAF 2.0 §7.1.19: an ASCII
//! armored detached signature `ADVISORY.json.asc` beside each advisory;
//! §7.1.20 `public_openpgp_keys` in the provider metadata): the trusted
//! certificates of a provider and the verification of one signature, with
//! rPGP (`pgp`, pure Rust).
//!
//! rPGP checks the cryptography only; which key may sign is decided here:
//! a certificate whose self-signatures all verify and that is not revoked;
//! its primary key when it is signing-capable, or a subkey bound with the
//! signing flag (and its back-signature) and not revoked; neither expired
//! when the signature was made. A signature that is not a binary or text
//! document signature, made in the future or expired is refused.

use std::path::Path;
use std::time::{Duration, SystemTime};

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{KeyFlags, Signature, SignatureType};
use pgp::types::{KeyDetails, VerifyingKey};

/// Largest key or signature file read (a certificate with many
/// certifications is a few hundred KiB at most).
pub const MAX_OPENPGP: usize = 1 << 20;

/// Clock skew allowed for a signature's creation time.
const SKEW: Duration = Duration::from_secs(300);

/// A certificate that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error("OpenPGP key file {0}: {1}")]
    Io(String, std::io::Error),
    /// Not an OpenPGP certificate, or one whose self-signatures do not
    /// verify, or revoked.
    #[error("OpenPGP key {0}: {1}")]
    Invalid(String, String),
}

/// An OpenPGP key for one CSAF source (`--csaf-key URL=KEY`, config key
/// `csaf_key`): URL is the provider-metadata URL exactly as in
/// `--poll-csaf`; KEY a certificate file, or a fingerprint (40 or 64 hex
/// digits) of a key the provider metadata lists in `public_openpgp_keys`,
/// fetched from there and used only when its own fingerprint is that one.
#[derive(Clone, PartialEq, Eq)]
pub struct CsafKey {
    /// The provider-metadata URL of the source.
    pub source: String,
    /// The key.
    pub key: CsafKeySpec,
}

/// Where a [`CsafKey`] comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsafKeySpec {
    /// A certificate file (armored or binary).
    File(std::path::PathBuf),
    /// A pinned fingerprint (upper-case hex) of a key the provider lists.
    Fingerprint(String),
}

impl std::str::FromStr for CsafKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (url, key) = s
            .rsplit_once('=')
            .ok_or_else(|| "expected URL=KEYFILE or URL=FINGERPRINT".to_string())?;
        // The message must not repeat the URL: it may hold credentials.
        if reqwest::Url::parse(url).is_err() || key.is_empty() {
            return Err(format!(
                "{}=…: expected URL=KEYFILE or URL=FINGERPRINT",
                super::redact_url(url)
            ));
        }
        Ok(CsafKey {
            source: url.to_owned(),
            key: match is_fingerprint(key) {
                true => CsafKeySpec::Fingerprint(normalize_fingerprint(key)),
                false => CsafKeySpec::File(key.into()),
            },
        })
    }
}

impl std::fmt::Debug for CsafKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsafKey")
            .field("source", &super::redact_url(&self.source))
            .field("key", &self.key)
            .finish()
    }
}

/// Trusted OpenPGP certificates of one provider.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    certs: Vec<SignedPublicKey>,
}

/// A fingerprint as gridlink shows and compares it: upper-case hex, no
/// spaces (`0x` and spaces in a configured one are dropped).
pub fn normalize_fingerprint(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Whether `s` (normalized) looks like a v4 (40 hex digits) or v6 (64)
/// fingerprint.
pub fn is_fingerprint(s: &str) -> bool {
    let n = normalize_fingerprint(s);
    (n.len() == 40 || n.len() == 64) && n.chars().all(|c| c.is_ascii_hexdigit())
}

impl Keyring {
    /// An empty keyring (verifies nothing).
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// The certificates of a key file (armored or binary, one or more).
    pub fn load(path: &Path) -> Result<Keyring, KeyError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| KeyError::Io(shown.clone(), e))?;
        if bytes.len() > MAX_OPENPGP {
            return Err(KeyError::Invalid(shown, "larger than 1 MiB".into()));
        }
        let mut ring = Keyring::new();
        for cert in parse_certs(&shown, &bytes)? {
            ring.certs.push(cert);
        }
        Ok(ring)
    }

    /// The certificate with primary fingerprint `pinned` among those in
    /// `bytes` (fetched from `shown`); others are ignored.
    pub fn pinned(shown: &str, bytes: &[u8], pinned: &str) -> Result<SignedPublicKey, KeyError> {
        let want = normalize_fingerprint(pinned);
        parse_certs(shown, bytes)?
            .into_iter()
            .find(|c| fingerprint(c) == want)
            .ok_or_else(|| {
                KeyError::Invalid(
                    shown.into(),
                    format!("holds no certificate with the pinned fingerprint {want}"),
                )
            })
    }

    /// Adds a certificate.
    pub fn push(&mut self, cert: SignedPublicKey) {
        self.certs.push(cert);
    }

    /// Adds every certificate of `other`.
    pub fn extend(&mut self, other: &Keyring) {
        self.certs.extend(other.certs.iter().cloned());
    }

    /// Whether the keyring holds no certificate.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The primary fingerprints, upper-case hex.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs.iter().map(fingerprint).collect()
    }

    /// Checks the armored detached signature `asc` over `doc`: `Ok` with
    /// the signing certificate's fingerprint when one of its signatures
    /// was made by a trusted key, else why not.
    pub fn verify(&self, doc: &[u8], asc: &[u8], now: SystemTime) -> Result<String, String> {
        if asc.len() > MAX_OPENPGP {
            return Err("the signature file is larger than 1 MiB".into());
        }
        let (sigs, _) = DetachedSignature::from_armor_many(asc)
            .map_err(|e| format!("not an armored OpenPGP signature: {e}"))?;
        let mut why = Vec::new();
        let mut any = false;
        for sig in sigs {
            let sig = sig.map_err(|e| format!("unreadable OpenPGP signature: {e}"))?;
            any = true;
            match self.verify_one(&sig, doc, now) {
                Ok(fpr) => return Ok(fpr),
                Err(e) => why.push(e),
            }
        }
        if !any {
            return Err("the signature file holds no signature".into());
        }
        Err(why.join("; "))
    }

    fn verify_one(
        &self,
        sig: &DetachedSignature,
        doc: &[u8],
        now: SystemTime,
    ) -> Result<String, String> {
        let s = &sig.signature;
        if !matches!(s.typ(), Some(SignatureType::Binary | SignatureType::Text)) {
            return Err(format!("not a document signature ({:?})", s.typ()));
        }
        // rPGP checks no hash strength for classic keys: MD5, SHA-1 and
        // RIPEMD-160 signatures can be forged or are deprecated (RFC 9580
        // §9.5), so only the SHA-2 and SHA-3 families are accepted.
        match s.hash_alg() {
            Some(
                HashAlgorithm::Sha224
                | HashAlgorithm::Sha256
                | HashAlgorithm::Sha384
                | HashAlgorithm::Sha512
                | HashAlgorithm::Sha3_256
                | HashAlgorithm::Sha3_512,
            ) => {}
            other => {
                return Err(format!(
                    "a signature with a weak or unknown hash ({other:?})"
                ))
            }
        }
        let made: SystemTime = s
            .created()
            .ok_or("a signature without creation time")?
            .into();
        if made > now + SKEW {
            return Err("a signature made in the future".into());
        }
        if let Some(d) = s
            .signature_expiration_time()
            .map(Duration::from)
            .filter(|d| !d.is_zero())
        {
            if made + d <= now {
                return Err("an expired signature".into());
            }
        }
        for cert in &self.certs {
            let fpr = fingerprint(cert);
            let primary = newest(self_signatures(cert));
            let issued = |k: &dyn KeyDetails| {
                s.issuer_fingerprint()
                    .iter()
                    .any(|f| **f == k.fingerprint())
                    || s.issuer_key_id().iter().any(|i| **i == k.legacy_key_id())
            };
            if issued(&cert.primary_key) {
                let Some(selfsig) = primary else {
                    return Err(format!("key {fpr} has no self-signature"));
                };
                if !may_sign_primary(&selfsig.key_flags()) {
                    return Err(format!("key {fpr} is not a signing key"));
                }
                expired(cert.primary_key.created_at().into(), selfsig, made)
                    .map_err(|e| format!("key {fpr} {e}"))?;
                return check(s, &cert.primary_key, doc, &fpr);
            }
            for sub in &cert.public_subkeys {
                if !issued(&sub.key) {
                    continue;
                }
                let sub_fpr = format!("{:X}", sub.key.fingerprint());
                if sub
                    .signatures
                    .iter()
                    .any(|b| b.typ() == Some(SignatureType::SubkeyRevocation))
                {
                    return Err(format!("subkey {sub_fpr} of {fpr} is revoked"));
                }
                let binding = newest(
                    sub.signatures
                        .iter()
                        .filter(|b| b.typ() == Some(SignatureType::SubkeyBinding)),
                )
                .ok_or_else(|| format!("subkey {sub_fpr} of {fpr} is not bound"))?;
                if !binding.key_flags().sign() {
                    return Err(format!("subkey {sub_fpr} of {fpr} is not a signing key"));
                }
                // The certificate itself must be alive too.
                if let Some(selfsig) = primary {
                    expired(cert.primary_key.created_at().into(), selfsig, made)
                        .map_err(|e| format!("key {fpr} {e}"))?;
                }
                expired(sub.key.created_at().into(), binding, made)
                    .map_err(|e| format!("subkey {sub_fpr} of {fpr} {e}"))?;
                return check(s, &sub.key, doc, &fpr);
            }
        }
        let issuers: Vec<String> = s
            .issuer_fingerprint()
            .iter()
            .map(|f| format!("{f:X}"))
            .chain(
                s.issuer_key_id()
                    .iter()
                    .map(|k| k.as_ref().iter().map(|b| format!("{b:02X}")).collect()),
            )
            .collect();
        Err(format!(
            "signed by {}, not by a trusted key ({})",
            if issuers.is_empty() {
                "an unnamed key".to_string()
            } else {
                issuers.join("/")
            },
            self.fingerprints().join(", ")
        ))
    }
}

/// The cryptographic check, once the key was found fit to sign.
fn check(s: &Signature, key: &impl VerifyingKey, doc: &[u8], fpr: &str) -> Result<String, String> {
    s.verify(key, doc)
        .map(|()| fpr.to_owned())
        .map_err(|e| format!("signature by {fpr} does not verify: {e}"))
}

fn fingerprint(cert: &SignedPublicKey) -> String {
    format!("{:X}", cert.primary_key.fingerprint())
}

/// The primary key's self-signatures: user id bindings and direct-key
/// signatures (all verified when the certificate was read).
fn self_signatures(cert: &SignedPublicKey) -> impl Iterator<Item = &Signature> {
    cert.details
        .users
        .iter()
        .flat_map(|u| u.signatures.iter())
        .filter(|s| s.is_certification())
        .chain(cert.details.direct_signatures.iter())
}

fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0))
}

/// A primary key may sign when its flags say so, or when it has none at all
/// (keys older than the key flags subpacket).
fn may_sign_primary(f: &KeyFlags) -> bool {
    f.sign() || *f == KeyFlags::default()
}

/// `Err` when the key (created at `created`, expiry from `selfsig`) had
/// expired when the signature was `made`.
fn expired(created: SystemTime, selfsig: &Signature, made: SystemTime) -> Result<(), String> {
    match selfsig
        .key_expiration_time()
        .map(Duration::from)
        .filter(|d| !d.is_zero())
    {
        Some(d) if created + d <= made => Err("had expired when the signature was made".into()),
        _ => Ok(()),
    }
}

/// Every certificate in `bytes` (armored or binary); each must have valid
/// self-signatures and no revocation.
fn parse_certs(shown: &str, bytes: &[u8]) -> Result<Vec<SignedPublicKey>, KeyError> {
    let bad = |e: String| KeyError::Invalid(shown.to_owned(), e);
    let (certs, _) =
        SignedPublicKey::from_reader_many(bytes).map_err(|e| bad(format!("not OpenPGP: {e}")))?;
    let mut out = Vec::new();
    for cert in certs {
        let cert = cert.map_err(|e| bad(format!("not an OpenPGP certificate: {e}")))?;
        let fpr = fingerprint(&cert);
        cert.verify_bindings()
            .map_err(|e| bad(format!("{fpr}: a self-signature does not verify: {e}")))?;
        if !cert.details.revocation_signatures.is_empty() {
            return Err(bad(format!("{fpr} is revoked")));
        }
        out.push(cert);
    }
    if out.is_empty() {
        return Err(bad("holds no certificate".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints() {
        assert_eq!(
            normalize_fingerprint(" 0x8F5f 0000 "),
            "8F5F0000".to_string()
        );
        assert!(is_fingerprint(
            "A1B2 C3D4 E5F6 A7B8 C9D0  A1B2 C3D4 E5F6 A7B8 C9D0"
        ));
        assert!(!is_fingerprint("A1B2"));
        assert!(!is_fingerprint(&"G".repeat(40)));
    }

    #[test]
    fn key_specs() {
        let k: CsafKey = "https://p.example/m.json=/etc/k.asc".parse().unwrap();
        assert_eq!(k.source, "https://p.example/m.json");
        assert_eq!(k.key, CsafKeySpec::File("/etc/k.asc".into()));
        let k: CsafKey = "https://p.example/m.json=8f5f267907b2c4559db360db2294ba7d2b2298b1"
            .parse()
            .unwrap();
        assert_eq!(
            k.key,
            CsafKeySpec::Fingerprint("8F5F267907B2C4559DB360DB2294BA7D2B2298B1".into())
        );
        assert!("no-url=k".parse::<CsafKey>().is_err());
        assert!("https://p.example/m.json=".parse::<CsafKey>().is_err());
        let e = "https://u:secret@p.example/="
            .parse::<CsafKey>()
            .unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn garbage_is_refused() {
        let ring = Keyring::new();
        assert!(ring
            .verify(b"{}", b"not a signature", SystemTime::now())
            .unwrap_err()
            .contains("not an armored OpenPGP signature"));
        assert!(parse_certs("k", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n").is_err());
        assert!(parse_certs("k", b"").is_err());
    }
}
