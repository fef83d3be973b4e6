//! JSON string output for the XML → JSON writer (`json_write.rs`): a string with its quotes,
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

/// serde_json's escape of byte `c` after the backslash (0: none; `u`: `\u00XX`).
#[inline]
fn escape_of(c: u8) -> u8 {
    match c {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0..=0x1f => b'u',
        _ => 0,
    }
}

/// Appends `s` to `out` as a JSON string, quotes included, byte-identical to serde_json's
/// `to_string` of a `&str` (short escapes for `\b \f \n \r \t`, `\u00xx` in lower-case hex for the
/// other control bytes, DEL and non-ASCII unescaped).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
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
        // A word with something to escape, or the last bytes: one at a time.
        let end = (i + 8).min(b.len());
        for (j, &c) in b.iter().enumerate().take(end).skip(i) {
            let e = escape_of(c);
            if e == 0 {
                continue;
            }
            out.extend_from_slice(b.get(start..j).unwrap_or_default());
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
            start = j + 1;
        }
        i = end;
    }
    out.extend_from_slice(b.get(start..).unwrap_or_default());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::{word_needs_escape, write_str};

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
