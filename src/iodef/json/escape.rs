//! JSON string output for the XML → JSON writer (`write.rs`): a string with its quotes,
//! escaped byte for byte as serde_json escapes it, but tested eight bytes at a time. serde_json's
//! escaper looks every byte up in a table and goes through its `Formatter` for each run, and it was
//! 17 % of `to_json_string`'s instructions; IODEF text rarely has anything to escape, so nearly
//! every word passes the test and the whole string is copied in one piece.

/// Whether any byte of `w` needs escaping in a JSON string: below 0x20, `"` or `\`. Each test is
/// the borrow-into-the-top-bit one (`x - 0x01…01` sets a byte's top bit when that byte was below
/// the subtrahend, `& !x` drops bytes whose top bit was already set); exact as a yes/no answer.
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x;
    let control = below(w, 0x20);
    let quote = below(w ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(w ^ (ONES * u64::from(b'\\')), 1);
    (control | quote | backslash) & HIGH != 0
}

/// serde_json's escape of each byte after the backslash (0: none; `u`: `\u00XX`), as a table.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = b'u';
        c += 1;
    }
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// serde_json's escape of byte `c` after the backslash (0: none; `u`: `\u00XX`).
#[inline]
fn escape_of(c: u8) -> u8 {
    ESCAPE[usize::from(c)]
}

/// Whether any byte of `b` needs escaping, by whole words: the last word overlaps the one before
/// when the length is not a multiple of eight, and a string of four to seven bytes is tested as two
/// overlapping four-byte halves (most strings here are short: enumeration values, names, times), so
/// only strings under four bytes are looked at byte by byte. Testing a byte twice changes nothing.
#[inline]
fn needs_escape(b: &[u8]) -> bool {
    let n = b.len();
    let half = |at: usize| {
        b.get(at..at + 4)
            .and_then(|x| <[u8; 4]>::try_from(x).ok())
            .map_or(0, |x| u64::from(u32::from_le_bytes(x)))
    };
    if n >= 8 {
        crate::iodef::bytes::any_word(b, word_needs_escape)
    } else if n >= 4 {
        word_needs_escape(half(0) | half(n - 4) << 32)
    } else {
        b.iter().any(|c| escape_of(*c) != 0)
    }
}

/// Appends `s` to `out` as a JSON string, quotes included, byte-identical to serde_json's
/// `to_string` of a `&str` (short escapes for `\b \f \n \r \t`, `\u00xx` in lower-case hex for the
/// other control bytes, DEL and non-ASCII unescaped).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    if needs_escape(b) {
        escape_into(out, b);
    } else {
        out.extend_from_slice(b);
    }
    out.push(b'"');
}

/// The bytes of a string that has something to escape (text with line breaks or quotes, XML
/// content written as a string): words with nothing to escape are skipped whole, the others
/// looked at byte by byte.
fn escape_into(out: &mut Vec<u8>, b: &[u8]) {
    // Bytes before `start` are written; `i` is where the next test starts.
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some(Ok(w)) = b.get(i..i + 8).map(<[u8; 8]>::try_from) {
            if !word_needs_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(b.len());
        while i < end {
            let c = b.get(i).copied().unwrap_or(0);
            let e = escape_of(c);
            if e != 0 {
                out.extend_from_slice(b.get(start..i).unwrap_or_default());
                if e == b'u' {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(&[
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[usize::from(c >> 4)],
                        HEX[usize::from(c & 0xf)],
                    ]);
                } else {
                    out.extend_from_slice(&[b'\\', e]);
                }
                start = i + 1;
            }
            i += 1;
        }
    }
    out.extend_from_slice(b.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::{needs_escape, word_needs_escape, write_str};

    fn ours(s: &str) -> String {
        let mut out = b"x".to_vec();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap_or_default()
    }

    fn serde(s: &str) -> String {
        format!("x{}", serde_json::to_string(s).unwrap_or_default())
    }

    /// Every ASCII character at every position of strings of 0 to 19 other bytes (so in each lane
    /// of a word, in the tail, and across word boundaries), alone and next to another escape.
    #[test]
    fn agrees_with_serde_json_at_every_position() {
        for len in 0..20 {
            for pos in 0..=len {
                for c in (0u8..0x80).map(char::from) {
                    let mut s: String = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
                    s.insert(pos, c);
                    assert_eq!(ours(&s), serde(&s), "{s:?}");
                    s.insert(0, '"');
                    s.push('\u{1}');
                    assert_eq!(ours(&s), serde(&s), "{s:?}");
                }
            }
        }
    }

    /// Multi-byte characters (whose bytes are all 0x80 or above) and strings of specials only.
    #[test]
    fn multibyte_and_runs() {
        for s in [
            "",
            "é",
            "€uro 𝄞 ünïcödé text that is longer than a word",
            "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10ffff}",
            "\"\"\"\"\"\"\"\"\"",
            "\\\\\\\\\\\\\\\\\\\\",
            "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{1b}",
            "ends with an escape\n",
            "é\"é\\é\né",
        ] {
            assert_eq!(ours(s), serde(s), "{s:?}");
        }
        // Long text with escapes scattered over words: XML content written as a string.
        let xml = "<a x=\"1\">\n  <b>t\u{1}é</b>\r\n\t<c y='\\'/>\n</a>".repeat(9);
        for cut in 0..xml.len() {
            if let Some(s) = xml.get(cut..) {
                assert_eq!(ours(s), serde(s), "{s:?}");
            }
        }
    }

    /// The whole-string test against the byte test: every byte value at every position of strings
    /// of 0 to 19 bytes (the overlapping loads cover every byte at every length).
    #[test]
    fn string_test_is_exact() {
        for len in 0..20 {
            for pos in 0..len {
                for c in 0..=255u8 {
                    let mut b = vec![b'a'; len];
                    b[pos] = c;
                    let want = b.iter().any(|x| *x < 0x20 || *x == b'"' || *x == b'\\');
                    assert_eq!(needs_escape(&b), want, "{b:?}");
                }
            }
            assert!(!needs_escape(&vec![b'a'; len]));
        }
    }

    /// The word test against the byte test, for every byte value in every lane among bytes that
    /// need nothing (including bytes at and above 0x80).
    #[test]
    fn word_test_is_exact() {
        for fill in [b'a', 0x80, 0xff, b' ', b'!', b'#', b'['] {
            for lane in 0..8 {
                for c in 0..=255u8 {
                    let mut w = [fill; 8];
                    w[lane] = c;
                    let want = w.iter().any(|b| *b < 0x20 || *b == b'"' || *b == b'\\');
                    assert_eq!(word_needs_escape(u64::from_le_bytes(w)), want, "{w:?}");
                }
            }
        }
    }
}
