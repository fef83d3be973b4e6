//! ConcatKDF (NIST SP 800-56A §5.8.1, the single-step KDF) with SHA-256, as XML Encryption 1.1
//! §5.4.1 uses it after ECDH-ES: `K(i) = SHA-256(counter_i || Z || OtherInfo)`, the counter a 32-bit
//! big-endian integer from 1, `OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo [|| SuppPubInfo
//! [|| SuppPrivInfo]]`.
//!
//! The `ConcatKDFParams` attributes are bit strings written as `hexBinary` whose first octet is the
//! number of padding bits in the last octet (§5.4.1); gridlink accepts only whole octets (first octet
//! `00`) and an empty attribute (the §5.6.3 example's way of writing an empty string), and strips
//! that octet before concatenating ("the original, unpadded bit string values").

use aws_lc_rs::digest;

use super::error::XencError;

/// The longest attribute value read (hex characters): the parameters are short identifiers.
const MAX_PARAM_HEX: usize = 1024;

/// `len` bytes of key material from the shared secret `z` and `other_info`.
pub fn concat_kdf_sha256(z: &[u8], other_info: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter: u32 = 1;
    while out.len() < len {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(&counter.to_be_bytes());
        ctx.update(z);
        ctx.update(other_info);
        out.extend_from_slice(ctx.finish().as_ref());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// The octets of one `ConcatKDFParams` attribute (`""` or `"00"` + hex).
pub fn param_octets(attr: &str) -> Result<Vec<u8>, XencError> {
    let hex = attr.trim();
    if hex.is_empty() {
        return Ok(Vec::new());
    }
    if hex.len() > MAX_PARAM_HEX || !hex.len().is_multiple_of(2) {
        return Err(XencError::Malformed(
            "ConcatKDFParams attribute is not short hexBinary".into(),
        ));
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| XencError::Malformed("ConcatKDFParams attribute is not hexBinary".into()))?;
    match bytes.split_first() {
        Some((0, rest)) => Ok(rest.to_vec()),
        _ => Err(XencError::Malformed(
            "ConcatKDFParams bit strings with padding bits are not accepted".into(),
        )),
    }
}

/// `octets` as a `ConcatKDFParams` attribute value (no padding bits).
pub fn param_hex(octets: &[u8]) -> String {
    let mut s = String::from("00");
    for b in octets {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The single-step KDF written out by hand for a two-block output: block i is
    /// SHA-256(i as u32 BE || Z || OtherInfo).
    #[test]
    fn concat_kdf_blocks_and_counter() {
        let z = [0x11u8; 32];
        let info = b"\x41\x42";
        let out = concat_kdf_sha256(&z, info, 40);
        let b1 = digest::digest(&digest::SHA256, &[&[0, 0, 0, 1][..], &z, info].concat());
        let b2 = digest::digest(&digest::SHA256, &[&[0, 0, 0, 2][..], &z, info].concat());
        assert_eq!(&out[..32], b1.as_ref());
        assert_eq!(&out[32..], &b2.as_ref()[..8]);
    }

    /// A published SHA-256 single-step KDF vector (NIST CAVS 800-56A "KASValidityTest"-style,
    /// as used by the JOSE ConcatKDF of RFC 7518 Appendix C): Z, OtherInfo → 128-bit key.
    #[test]
    fn concat_kdf_rfc7518_appendix_c_vector() {
        // RFC 7518 Appendix C (ECDH-ES, A128GCM): Z and the derived key.
        let z: [u8; 32] = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        // AlgorithmID = len||"A128GCM", PartyUInfo = len||"Alice", PartyVInfo = len||"Bob",
        // SuppPubInfo = keydatalen 128 as u32 BE.
        let mut info = Vec::new();
        info.extend_from_slice(&[0, 0, 0, 7]);
        info.extend_from_slice(b"A128GCM");
        info.extend_from_slice(&[0, 0, 0, 5]);
        info.extend_from_slice(b"Alice");
        info.extend_from_slice(&[0, 0, 0, 3]);
        info.extend_from_slice(b"Bob");
        info.extend_from_slice(&[0, 0, 0, 128]);
        let key = concat_kdf_sha256(&z, &info, 16);
        assert_eq!(
            key,
            [86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26]
        );
    }

    #[test]
    fn params_strip_the_padding_octet() {
        assert_eq!(param_octets("").unwrap(), Vec::<u8>::new());
        assert_eq!(param_octets("00414C").unwrap(), b"AL".to_vec());
        assert!(param_octets("03FF").is_err());
        assert!(param_octets("0").is_err());
        assert!(param_octets("zz").is_err());
        assert_eq!(param_octets(&param_hex(b"xyz")).unwrap(), b"xyz".to_vec());
    }
}
