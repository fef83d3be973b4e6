//! Encrypting one element for one recipient: a fresh AES-256-GCM content key, sent to the recipient
//! by RSA-OAEP (SHA-256, MGF1-SHA-256) or by ECDH-ES (ephemeral P-256 key, ConcatKDF-SHA-256,
//! AES-256 key wrap), written as XML Encryption 1.1 `xenc:EncryptedData Type="…#Element"`.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use aws_lc_rs::key_wrap::{KeyEncryptionKey, KeyWrap, AES_256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{OaepPublicEncryptingKey, OAEP_SHA256_MGF1SHA256};
use base64::Engine;

use super::error::XencError;
use super::kdf::{concat_kdf_sha256, param_hex};
use super::keys::{Recipient, RecipientKey};
use super::uris::*;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The ConcatKDF `AlgorithmID` gridlink sends: the key wrap algorithm's URI, binding the derived
/// key to its use (XML Encryption 1.1 leaves the value to the application).
pub fn kdf_algorithm_id() -> &'static [u8] {
    KW_AES256.as_bytes()
}

/// `IV || ciphertext || tag` of `plaintext` under `cek` (AES-256-GCM, random 96-bit IV, no AAD).
pub fn gcm_seal(cek: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, XencError> {
    let fail = |_| XencError::Encrypt("AES-256-GCM".into());
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, cek).map_err(fail)?);
    let mut iv = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut iv).map_err(fail)?;
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut buf)
        .map_err(fail)?;
    let mut out = iv.to_vec();
    out.extend(buf);
    Ok(out)
}

/// `<ds:X509Data>` with the recipient's certificate.
fn x509(cert: &[u8]) -> String {
    format!(
        "<ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data>",
        b64(cert)
    )
}

/// The `xenc:EncryptedKey` carrying `cek` to the recipient.
fn encrypted_key(cek: &[u8], to: &Recipient) -> Result<String, XencError> {
    match &to.key {
        RecipientKey::Rsa(public) => {
            let oaep = OaepPublicEncryptingKey::new(public.clone())
                .map_err(|_| XencError::Key("recipient RSA key unusable for OAEP".into()))?;
            let mut out = vec![0u8; oaep.ciphertext_size()];
            let wrapped = oaep
                .encrypt(&OAEP_SHA256_MGF1SHA256, cek, &mut out, None)
                .map_err(|_| XencError::Encrypt("RSA-OAEP".into()))?;
            Ok(format!(
                "<xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=\"{RSA_OAEP}\"><ds:DigestMethod Algorithm=\"{SHA256}\"/><xenc11:MGF Algorithm=\"{MGF1_SHA256}\"/></xenc:EncryptionMethod><ds:KeyInfo>{}</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>",
                x509(&to.cert),
                b64(wrapped)
            ))
        }
        RecipientKey::P256(point) => {
            let rng = SystemRandom::new();
            let eph = EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng)
                .map_err(|_| XencError::Encrypt("ephemeral P-256 key".into()))?;
            let eph_pub = eph
                .compute_public_key()
                .map_err(|_| XencError::Encrypt("ephemeral P-256 key".into()))?;
            let other_info = kdf_algorithm_id().to_vec();
            let kek = agreement::agree_ephemeral(
                eph,
                UnparsedPublicKey::new(&agreement::ECDH_P256, point.as_slice()),
                XencError::Key("recipient P-256 key rejected".into()),
                |z| Ok(concat_kdf_sha256(z, &other_info, 32)),
            )?;
            let wrapped = wrap(&kek, cek)?;
            Ok(format!(
                "<xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=\"{KW_AES256}\"/><ds:KeyInfo><xenc:AgreementMethod Algorithm=\"{ECDH_ES}\"><xenc11:KeyDerivationMethod Algorithm=\"{CONCAT_KDF}\"><xenc11:ConcatKDFParams AlgorithmID=\"{}\" PartyUInfo=\"00\" PartyVInfo=\"00\"><ds:DigestMethod Algorithm=\"{SHA256}\"/></xenc11:ConcatKDFParams></xenc11:KeyDerivationMethod><xenc:OriginatorKeyInfo><ds:KeyValue><dsig11:ECKeyValue><dsig11:NamedCurve URI=\"{CURVE_P256}\"/><dsig11:PublicKey>{}</dsig11:PublicKey></dsig11:ECKeyValue></ds:KeyValue></xenc:OriginatorKeyInfo><xenc:RecipientKeyInfo>{}</xenc:RecipientKeyInfo></xenc:AgreementMethod></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>",
                param_hex(kdf_algorithm_id()),
                b64(eph_pub.as_ref()),
                x509(&to.cert),
                b64(&wrapped)
            ))
        }
    }
}

/// AES-256 key wrap (RFC 3394) of `cek` under `kek`.
fn wrap(kek: &[u8], cek: &[u8]) -> Result<Vec<u8>, XencError> {
    let fail = |_| XencError::Encrypt("AES key wrap".into());
    let k = KeyEncryptionKey::new(&AES_256, kek).map_err(fail)?;
    let mut out = vec![0u8; cek.len() + 8];
    let n = k.wrap(cek, &mut out).map_err(fail)?.len();
    out.truncate(n);
    Ok(out)
}

/// The opening of an `EncryptedData` element, every namespace it uses declared on it (so that it
/// reads the same wherever it is put).
fn open_encrypted_data() -> String {
    format!(
        "<xenc:EncryptedData xmlns:xenc=\"{NS_XENC}\" xmlns:xenc11=\"{NS_XENC11}\" xmlns:ds=\"{NS_DS}\" xmlns:dsig11=\"{NS_DSIG11}\" Type=\"{TYPE_ELEMENT}\"><xenc:EncryptionMethod Algorithm=\"{AES256_GCM}\"/>"
    )
}

/// `plaintext` (the octets of one element) as an `xenc:EncryptedData` for `to`.
pub fn encrypt_element(plaintext: &[u8], to: &Recipient) -> Result<String, XencError> {
    encrypt_element_for(plaintext, &[to])
}

/// `plaintext` as an `xenc:EncryptedData` every one of `readers` can open: one content key, one
/// `xenc:EncryptedKey` per reader (RFC 6545 `need-to-know`: "encrypt per reader").
pub fn encrypt_element_for(plaintext: &[u8], readers: &[&Recipient]) -> Result<String, XencError> {
    if readers.is_empty() {
        return Err(XencError::NoRecipient("no reader".into()));
    }
    let mut cek = [0u8; 32];
    SystemRandom::new()
        .fill(&mut cek)
        .map_err(|_| XencError::Encrypt("random content key".into()))?;
    let sealed = gcm_seal(&cek, plaintext)?;
    let key = readers
        .iter()
        .map(|r| encrypted_key(&cek, r))
        .collect::<Result<String, XencError>>()?;
    Ok(format!(
        "{}<ds:KeyInfo>{key}</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>",
        open_encrypted_data(),
        b64(&sealed)
    ))
}

/// `plaintext` under a given content key with no `KeyInfo`: for checking the content encryption
/// against other implementations (xmlsec1 `--binary-data`/session keys) only; RID messages always
/// carry the key for their recipient ([`encrypt_element`]).
#[doc(hidden)]
pub fn encrypt_element_with_key(plaintext: &[u8], cek: &[u8]) -> Result<String, XencError> {
    let sealed = gcm_seal(cek, plaintext)?;
    Ok(format!(
        "{}<xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>",
        open_encrypted_data(),
        b64(&sealed)
    ))
}
