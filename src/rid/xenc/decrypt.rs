//! Decrypting one `xenc:EncryptedData` with this endpoint's key: the structure read strictly (only
//! what `encrypt.rs` writes, plus `rsa-oaep-mgf1p` with SHA-1 and AES-128 for xmlsec1 1.2
//! interop), every base64 value bounded, every failure a typed error and never a panic.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::agreement::{self, UnparsedPublicKey};
use aws_lc_rs::key_wrap::{KeyEncryptionKey, KeyWrap, AES_128, AES_256};
use aws_lc_rs::rsa::{OaepAlgorithm, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256};
use base64::Engine;

use super::error::XencError;
use super::kdf::{concat_kdf_sha256, param_octets};
use super::keys::DecryptingKey;
use super::uris::*;
use crate::rid::sign::El;

/// Largest wrapped or transported key read (an RSA-8192 block).
const MAX_KEY_B64: usize = 2048;
/// Largest ephemeral public key read (an uncompressed P-256 point is 88 base64 characters).
const MAX_POINT_B64: usize = 256;
/// Most `EncryptedKey`s tried in one `EncryptedData` (each costs a private-key operation: a peer
/// cannot make the endpoint spend seconds on one message).
const MAX_KEYS: usize = 16;
/// The GCM tag length.
const TAG_LEN: usize = 16;

fn malformed(m: &str) -> XencError {
    XencError::Malformed(m.into())
}

/// Base64 with XML whitespace allowed, at most `max` characters.
fn unb64(text: &str, max: usize) -> Result<Vec<u8>, XencError> {
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if clean.len() > max {
        return Err(malformed("base64 value too long"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|_| malformed("base64 value not readable"))
}

/// The single child `{ns}name`.
fn one<'a>(el: &'a El, ns: &str, name: &str) -> Result<&'a El, XencError> {
    let found: Vec<&'a El> = el
        .elements()
        .filter(|e| e.ns == ns && e.name == name)
        .collect();
    match found.as_slice() {
        [c] => Ok(c),
        [] => Err(XencError::Malformed(format!("{} has no {name}", el.name))),
        _ => Err(XencError::Malformed(format!(
            "{} has more than one {name}",
            el.name
        ))),
    }
}

fn algorithm(el: &El) -> Result<&str, XencError> {
    el.get("Algorithm")
        .map(str::trim)
        .ok_or_else(|| XencError::Malformed(format!("{} has no Algorithm", el.name)))
}

/// The octets of `CipherData/CipherValue` (no `CipherReference`: nothing is fetched).
fn cipher_value(el: &El, max: usize) -> Result<Vec<u8>, XencError> {
    let cd = one(el, NS_XENC, "CipherData")?;
    if cd.named(NS_XENC, "CipherReference").next().is_some() {
        return Err(XencError::Algorithm(
            "CipherReference (nothing is fetched)".into(),
        ));
    }
    unb64(&one(cd, NS_XENC, "CipherValue")?.text_content(), max)
}

/// Decrypts `ed` (an `xenc:EncryptedData` element) with `key`: the plaintext octets.
pub fn decrypt_element(ed: &El, key: &DecryptingKey) -> Result<Vec<u8>, XencError> {
    if ed.ns != NS_XENC || ed.name != "EncryptedData" {
        return Err(malformed("not an xenc:EncryptedData"));
    }
    if ed.get("Type").map(str::trim) != Some(TYPE_ELEMENT) {
        return Err(XencError::Algorithm(format!(
            "EncryptedData Type {:?} (only {TYPE_ELEMENT})",
            ed.get("Type").unwrap_or("")
        )));
    }
    let (aead, cek_len) = match algorithm(one(ed, NS_XENC, "EncryptionMethod")?)? {
        AES256_GCM => (&AES_256_GCM, 32),
        AES128_GCM => (&AES_128_GCM, 16),
        other => return Err(XencError::Algorithm(format!("content encryption {other}"))),
    };
    let sealed = cipher_value(ed, usize::MAX)?;
    let ki = one(ed, NS_DS, "KeyInfo")?;
    // Every EncryptedKey is tried (a message may be encrypted for several readers, RFC 6545
    // `need-to-know`); the first that opens gives the content key.
    let mut last = XencError::Malformed("KeyInfo has no EncryptedKey".into());
    if ki.named(NS_XENC, "EncryptedKey").count() > MAX_KEYS {
        return Err(XencError::Malformed(format!(
            "more than {MAX_KEYS} EncryptedKeys"
        )));
    }
    for ek in ki.named(NS_XENC, "EncryptedKey") {
        match content_key(ek, key, cek_len) {
            Ok(cek) => return open(aead, &cek, &sealed),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// AES-GCM open of `IV || ciphertext || tag`.
fn open(
    alg: &'static aws_lc_rs::aead::Algorithm,
    cek: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, XencError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(XencError::Decrypt);
    }
    let (iv, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| XencError::Decrypt)?;
    let k = LessSafeKey::new(UnboundKey::new(alg, cek).map_err(|_| XencError::Decrypt)?);
    let mut buf = body.to_vec();
    let n = k
        .open_in_place(nonce, Aad::empty(), &mut buf)
        .map_err(|_| XencError::Decrypt)?
        .len();
    buf.truncate(n);
    Ok(buf)
}

/// The content key an `xenc:EncryptedKey` carries, opened with our key.
fn content_key(ek: &El, key: &DecryptingKey, cek_len: usize) -> Result<Vec<u8>, XencError> {
    let method = one(ek, NS_XENC, "EncryptionMethod")?;
    let wrapped = cipher_value(ek, MAX_KEY_B64)?;
    let cek = match (algorithm(method)?, key) {
        (RSA_OAEP | RSA_OAEP_MGF1P, DecryptingKey::Rsa(k)) => {
            let alg = oaep(method)?;
            let mut out = vec![0u8; k.min_output_size()];
            let n = k
                .decrypt(alg, &wrapped, &mut out, None)
                .map_err(|_| XencError::Decrypt)?
                .len();
            out.truncate(n);
            out
        }
        (RSA_OAEP | RSA_OAEP_MGF1P, DecryptingKey::P256(_)) => {
            return Err(XencError::Key(
                "encrypted for an RSA key; ours is EC".into(),
            ))
        }
        (kw @ (KW_AES256 | KW_AES128), DecryptingKey::P256(der)) => {
            let kek_len = if kw == KW_AES256 { 32 } else { 16 };
            let ki = one(ek, NS_DS, "KeyInfo")?;
            let kek = ecdh_es(one(ki, NS_XENC, "AgreementMethod")?, der, kek_len)?;
            unwrap(&kek, &wrapped)?
        }
        (KW_AES256 | KW_AES128, DecryptingKey::Rsa(_)) => {
            return Err(XencError::Key(
                "encrypted for an EC key; ours is RSA".into(),
            ))
        }
        (other, _) => return Err(XencError::Algorithm(format!("key transport {other}"))),
    };
    if cek.len() != cek_len {
        return Err(XencError::Decrypt);
    }
    Ok(cek)
}

/// The OAEP variant an `EncryptionMethod` names: `xenc11#rsa-oaep` with SHA-256 and MGF1-SHA-256,
/// or `rsa-oaep-mgf1p` with SHA-1 (xmlsec1 1.2's only RSA-OAEP; accepted, never sent). No
/// `OAEPparams` label.
fn oaep(method: &El) -> Result<&'static OaepAlgorithm, XencError> {
    if method
        .named(NS_XENC, "OAEPparams")
        .any(|p| !p.text_content().trim().is_empty())
    {
        return Err(XencError::Algorithm("OAEPparams (a label)".into()));
    }
    let digest = match method.named(NS_DS, "DigestMethod").next() {
        Some(d) => Some(algorithm(d)?),
        None => None,
    };
    let mgf = match method.named(NS_XENC11, "MGF").next() {
        Some(m) => Some(algorithm(m)?),
        None => None,
    };
    match (algorithm(method)?, digest, mgf) {
        (RSA_OAEP, Some(SHA256), Some(MGF1_SHA256)) => Ok(&OAEP_SHA256_MGF1SHA256),
        (RSA_OAEP_MGF1P, None | Some(SHA1), None) => Ok(&OAEP_SHA1_MGF1SHA1),
        (m, d, g) => Err(XencError::Algorithm(format!(
            "{m} with digest {} and MGF {} (accepted: rsa-oaep SHA-256/MGF1-SHA-256, rsa-oaep-mgf1p SHA-1)",
            d.unwrap_or("default"),
            g.unwrap_or("default")
        ))),
    }
}

/// The key-encryption key of an ECDH-ES `AgreementMethod`.
fn ecdh_es(am: &El, der: &[u8], len: usize) -> Result<Vec<u8>, XencError> {
    if algorithm(am)? != ECDH_ES {
        return Err(XencError::Algorithm(format!(
            "key agreement {}",
            algorithm(am)?
        )));
    }
    let kdm = one(am, NS_XENC11, "KeyDerivationMethod")?;
    if algorithm(kdm)? != CONCAT_KDF {
        return Err(XencError::Algorithm(format!(
            "key derivation {}",
            algorithm(kdm)?
        )));
    }
    let params = one(kdm, NS_XENC11, "ConcatKDFParams")?;
    if algorithm(one(params, NS_DS, "DigestMethod")?)? != SHA256 {
        return Err(XencError::Algorithm(
            "ConcatKDF digest (SHA-256 only)".into(),
        ));
    }
    let mut other_info = Vec::new();
    for (name, required) in [
        ("AlgorithmID", true),
        ("PartyUInfo", true),
        ("PartyVInfo", true),
        ("SuppPubInfo", false),
        ("SuppPrivInfo", false),
    ] {
        match params.get(name) {
            Some(v) => other_info.extend(param_octets(v)?),
            None if required => {
                return Err(XencError::Malformed(format!(
                    "ConcatKDFParams has no {name}"
                )))
            }
            None => {}
        }
    }
    let ec = one(
        one(one(am, NS_XENC, "OriginatorKeyInfo")?, NS_DS, "KeyValue")?,
        NS_DSIG11,
        "ECKeyValue",
    )?;
    if one(ec, NS_DSIG11, "NamedCurve")?.get("URI").map(str::trim) != Some(CURVE_P256) {
        return Err(XencError::Algorithm("originator curve (P-256 only)".into()));
    }
    let point = unb64(
        &one(ec, NS_DSIG11, "PublicKey")?.text_content(),
        MAX_POINT_B64,
    )?;
    let ours = DecryptingKey::p256_agreement_key(der)?;
    agreement::agree(
        &ours,
        UnparsedPublicKey::new(&agreement::ECDH_P256, point.as_slice()),
        XencError::Decrypt,
        |z| Ok(concat_kdf_sha256(z, &other_info, len)),
    )
}

/// RFC 3394 unwrap.
fn unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Vec<u8>, XencError> {
    let cipher = if kek.len() == 32 { &AES_256 } else { &AES_128 };
    let k = KeyEncryptionKey::new(cipher, kek).map_err(|_| XencError::Decrypt)?;
    let mut out = vec![0u8; wrapped.len()];
    let n = k
        .unwrap(wrapped, &mut out)
        .map_err(|_| XencError::Decrypt)?
        .len();
    out.truncate(n);
    Ok(out)
}
