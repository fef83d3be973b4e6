//! Word-at-a-time byte tests under everything else: a name's first eight bytes as one word
//! ([`word`]), "does any eight-byte word of this hit" ([`any_word`]) and "is any byte whitespace or
//! a control byte" ([`any_le_space`]). The XML scanner, the schema's name table and whitespace
//! collapse, and the JSON string escaper all build on them; they import nothing.

/// Up to eight bytes as a little-endian word (without a variable-length `memcpy` call); the reader
/// also keys namespace prefixes with it.
#[inline]
pub(crate) fn word(b: &[u8]) -> u64 {
    if let Ok(a) = <[u8; 8]>::try_from(b) {
        return u64::from_le_bytes(a);
    }
    let n = b.len().min(8);
    if n >= 4 {
        // Two overlapping 4-byte loads: the bytes they share are equal, so OR-ing them gives the
        // same word as packing the bytes one by one (which showed in the parser's profile).
        let lo = b.get(..4).and_then(|x| <[u8; 4]>::try_from(x).ok());
        let hi = b.get(n - 4..n).and_then(|x| <[u8; 4]>::try_from(x).ok());
        if let (Some(lo), Some(hi)) = (lo, hi) {
            return u64::from(u32::from_le_bytes(lo))
                | u64::from(u32::from_le_bytes(hi)) << (8 * (n - 4));
        }
    }
    b.iter()
        .take(8)
        .enumerate()
        .fold(0, |w, (i, x)| w | u64::from(*x) << (8 * i))
}

/// Whether `hit` holds for any eight-byte word of `v` (at least eight bytes long): the whole
/// words, then the last eight bytes, overlapping the word before, when the length is not a
/// multiple of eight (testing a byte twice changes nothing). Shorter input answers yes, which
/// cannot happen for the callers (they test short values their own way) and would only send
/// them down their slow, exact path.
#[inline]
pub(crate) fn any_word(v: &[u8], hit: impl Fn(u64) -> bool) -> bool {
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        if let Ok(w) = <[u8; 8]>::try_from(c) {
            if hit(u64::from_le_bytes(w)) {
                return true;
            }
        }
    }
    if chunks.remainder().is_empty() {
        return false;
    }
    match v.get(v.len().saturating_sub(8)..).map(<[u8; 8]>::try_from) {
        Some(Ok(w)) => hit(u64::from_le_bytes(w)),
        _ => true,
    }
}

/// Whether any byte of `b` is a space or below (whitespace or a control byte), by whole words:
/// the last word overlaps the one before when the length is not a multiple of eight, and four to
/// seven bytes are tested as two overlapping halves (testing a byte twice changes nothing), so only
/// values under four bytes are looked at byte by byte. Typed values are short (enumeration values,
/// times), and the byte-at-a-time tail of the plain word loop was most of this test's cost.
#[inline]
pub(crate) fn any_le_space(b: &[u8]) -> bool {
    // `w - 0x21…21` borrows into a byte's top bit when that byte is below 0x21; `& !w` drops the
    // bytes whose top bit was already set (0x80 and above). As a yes/no answer this is exact.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let hit = |w: u64| w.wrapping_sub(ONES * 0x21) & !w & HIGH != 0;
    let n = b.len();
    if n >= 8 {
        any_word(b, hit)
    } else if n >= 4 {
        let half = |at: usize| {
            b.get(at..at + 4)
                .and_then(|x| <[u8; 4]>::try_from(x).ok())
                .map_or(0, |x| u64::from(u32::from_le_bytes(x)))
        };
        // Two overlapping halves make one word of eight of the value's bytes (a zero byte
        // padding a shorter load would count as a hit).
        hit(half(0) | half(n - 4) << 32)
    } else {
        b.iter().any(|c| *c <= b' ')
    }
}

#[cfg(test)]
mod tests {
    use super::{any_le_space, word};

    /// The word-at-a-time test agrees with the byte loop for every byte value at every position
    /// of values up to 25 bytes, beside neighbours that do and do not borrow.
    #[test]
    fn any_le_space_is_exact() {
        for len in 1..26 {
            for pos in 0..len {
                for fill in [b'a', 0x21, 0x80, 0xff] {
                    for v in 0..=255u8 {
                        let mut b = vec![fill; len];
                        b[pos] = v;
                        let slow = b.iter().any(|c| *c <= b' ');
                        assert_eq!(any_le_space(&b), slow, "{b:?}");
                    }
                }
            }
        }
    }

    /// The two-load shortcut packs the same word as byte by byte, for every length up to 8.
    #[test]
    fn word_packs_bytes_in_order() {
        let bytes = b"ABCDEFGHIJ";
        for n in 0..=8 {
            let slow = bytes[..n]
                .iter()
                .enumerate()
                .fold(0u64, |w, (i, x)| w | u64::from(*x) << (8 * i));
            assert_eq!(word(&bytes[..n]), slow, "length {n}");
        }
    }
}
