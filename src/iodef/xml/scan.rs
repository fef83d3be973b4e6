//! The byte scanner of the XML reader: the start-tag attribute scan, references and attribute-value
//! unescaping, line-end normalisation, qualified-name splitting and the vectorised byte tests. The
//! reader's state (namespaces, the open elements, the arena) is `parser.rs`, its event loop `read.rs`.

use std::borrow::Cow;

use crate::iodef::bytes::{any_le_space, any_word, word};
use crate::iodef::error::IodefError;

/// `bytes` as the part of `src` it borrows, when it does: quick-xml reading a `&str` hands out
/// slices of it, and re-validating their UTF-8 showed in the profile while a slice of `src` only
/// costs a bounds and char-boundary check. `None` for bytes from anywhere else.
pub(super) fn in_src<'s>(src: &'s str, bytes: &[u8]) -> Option<(usize, &'s str)> {
    let start = (bytes.as_ptr() as usize).checked_sub(src.as_ptr() as usize)?;
    Some((start, src.get(start..start.checked_add(bytes.len())?)?))
}

/// Normalises line ends in text (XML §2.11).
pub(super) fn norm_eol(s: &str) -> Cow<'_, str> {
    if s.contains('\r') {
        Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(s)
    }
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// Unescapes an attribute value: line-end/tab normalisation, predefined and character references only.
pub(super) fn unescape_attr(raw: &str, at: u32) -> Result<String, IodefError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\t', '\n', '\r']) {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        if c != b'&' {
            if c == b'\r' && rest.as_bytes().get(i + 1) == Some(&b'\n') {
                rest = &rest[i + 1..];
                continue;
            }
            out.push(' ');
            rest = &rest[i + 1..];
            continue;
        }
        let end = rest[i..]
            .find(';')
            .ok_or_else(|| IodefError::xml(at, "unterminated reference"))?;
        let name = &rest[i + 1..i + end];
        out.push(resolve_ref(name, at)?);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

pub(super) fn resolve_ref(name: &str, at: u32) -> Result<char, IodefError> {
    if let Some(c) = predefined(name) {
        return Ok(c);
    }
    let num = name.strip_prefix('#').ok_or_else(|| IodefError::Entity {
        line: at,
        name: name.to_string(),
    })?;
    let code = match num.strip_prefix('x') {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => num.parse::<u32>().ok(),
    };
    code.and_then(char::from_u32)
        .filter(|c| {
            !matches!(
                *c,
                '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'
            )
        })
        .ok_or_else(|| IodefError::xml(at, format!("invalid character reference &{name};")))
}

/// Reads the attributes of a start tag (`raw`: what follows its name, a slice of `src`) into `out`
/// as (name, raw value) pairs (the value as `str`, so that the reader takes its span without another
/// check), split the way quick-xml's attribute iterator splits them: whitespace,
/// a name (its first byte, then up to `=` or whitespace), optional whitespace, `=`, optional
/// whitespace, and a value between matching quotes. `false` (with `out` partly filled) for anything
/// else — an unquoted or unterminated value, a name without `=`, bytes that are not a slice of
/// `src` — which the caller hands to quick-xml's iterator for its error.
pub(super) fn scan_attrs<'s>(src: &'s str, raw: &[u8], out: &mut Vec<(&'s [u8], &'s str)>) -> bool {
    // The tag is a slice of the source: reading a `&str`, quick-xml never copies.
    let Some((_, raw)) = in_src(src, raw) else {
        return false;
    };
    let b = raw.as_bytes();
    let ws = |c: u8| matches!(c, b' ' | b'\r' | b'\n' | b'\t');
    let mut i = 0;
    loop {
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        if i == b.len() {
            return true;
        }
        // The name's first byte is taken whatever it is, as quick-xml does (so `="v"` is a name
        // `="v"` without `=`, an error, not an empty name).
        let key_start = i;
        i += 1;
        // The name runs to the first `=` or whitespace. The `=` is found a word at a time (the byte
        // loop over names was a tenth of the reader's `start`); when no byte before it is whitespace
        // (nor any other byte up to 0x20, which the byte loop then judges) it ends the name.
        match b.get(i..).and_then(|r| find_near(r, b'=')) {
            Some(n) if !b.get(i..i + n).is_some_and(any_le_space) => i += n,
            _ => {
                while i < b.len() && b[i] != b'=' && !ws(b[i]) {
                    i += 1;
                }
            }
        }
        let key_end = i;
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return false;
        }
        i += 1;
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        let quote = match b.get(i) {
            Some(q @ (b'"' | b'\'')) => *q,
            _ => return false,
        };
        let value_start = i + 1;
        let Some(len) = b.get(value_start..).and_then(|r| find_near(r, quote)) else {
            return false;
        };
        let value_end = value_start + len;
        // The delimiters are ASCII, so these are character boundaries of `raw`.
        let (Some(key), Some(value)) =
            (raw.get(key_start..key_end), raw.get(value_start..value_end))
        else {
            return false;
        };
        out.push((key.as_bytes(), value));
        i = value_end + 1;
        // XML 1.0 §3.1: attributes are separated by whitespace (`a="1"b="2"` is not well-formed);
        // quick-xml's iterator does not check it, so the slow path gives the error.
        if i < b.len() && !ws(b[i]) {
            return false;
        }
    }
}

/// [`find_byte`] for a byte that is usually near (the end of an attribute's name or value in the
/// rest of its tag): the first 64 bytes by words, and only then the rest (`memchr`'s set-up would
/// otherwise be paid for every attribute but the last few of a long tag).
#[inline]
fn find_near(s: &[u8], b: u8) -> Option<usize> {
    match s.split_at_checked(64) {
        Some((near, far)) => find_byte(near, b).or_else(|| Some(64 + find_byte(far, b)?)),
        None => find_byte(s, b),
    }
}

/// Index of the first `b` in `s`. Attribute values and text are mostly a few dozen bytes, where
/// `memchr`'s set-up per call (it showed in the profile, ~80 instructions a value) costs more than
/// testing eight bytes at a time; longer input goes to `memchr`.
#[inline]
pub(super) fn find_byte(s: &[u8], b: u8) -> Option<usize> {
    if s.len() > 64 {
        return memchr::memchr(b, s);
    }
    let mut i = 0;
    while let Some(c) = s.get(i..i + 8) {
        let Ok(a) = <[u8; 8]>::try_from(c) else {
            break;
        };
        let m = zero_bytes(u64::from_le_bytes(a) ^ (LO * u64::from(b)));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    // The last bytes: with eight or more in all, as the word ending the input (the bytes it shares
    // with the words tested above do not match, so its lowest match is the first one); else as a
    // word padded with zero bytes, which match no `b` but 0.
    let n = s.len();
    if i == n {
        return None;
    }
    let last = match s.get(n.wrapping_sub(8)..).map(<[u8; 8]>::try_from) {
        Some(Ok(w)) => (n - 8, u64::from_le_bytes(w)),
        _ if b != 0 => (0, word(s)),
        _ => return s.iter().position(|c| *c == b),
    };
    let m = zero_bytes(last.1 ^ (LO * u64::from(b)));
    (m != 0).then(|| last.0 + (m.trailing_zeros() / 8) as usize)
}

const LO: u64 = 0x0101_0101_0101_0101;

/// The top bit of each zero byte of `x`, exact up to and including its lowest zero byte (a borrow
/// from a zero byte can mark the byte above it; [`find_byte`] only reads the lowest mark).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & (LO << 7)
}

/// Whether a split qualified name is namespace-well-formed (Namespaces in XML 1.0 §3): a prefix
/// and a local part that are both non-empty and hold no further ':'. Without this, `:a` would take
/// the default namespace as if its empty prefix were bound to it.
#[inline]
pub(super) fn qname_ok(local: &[u8], prefix: Option<&[u8]>) -> bool {
    match prefix {
        None => !local.is_empty(),
        Some(p) => !p.is_empty() && !local.is_empty() && find_byte(local, b':').is_none(),
    }
}

/// A qualified name's local part and prefix (split at its first ':', as quick-xml's `QName` does;
/// searched eight bytes at a time, as IODEF's prefixed element names are mostly longer than that).
#[inline]
pub(super) fn split_qname(q: &[u8]) -> (&[u8], Option<&[u8]>) {
    match find_byte(q, b':') {
        Some(c) => (&q[c + 1..], Some(&q[..c])),
        None => (q, None),
    }
}

/// Whether an attribute value has a reference or a line end or tab to normalise. Without an early
/// exit, so that it is vectorised (attribute values are short and nearly always clean).
#[inline]
pub(super) fn needs_unescape(v: &[u8]) -> bool {
    // Eight bytes at a time (the compiler's vectorised fold went byte by byte over values shorter
    // than its vectors, most of them): a word has one of the four bytes when it XOR that byte
    // repeated has a zero byte (exact as a yes/no answer). The last word overlaps the one before;
    // a value under eight bytes is one word padded with zero bytes, which are none of the four.
    let hit = |w: u64| {
        let z = |c: u8| zero_bytes(w ^ (LO * u64::from(c)));
        z(b'&') | z(b'\t') | z(b'\n') | z(b'\r') != 0
    };
    if v.len() < 8 {
        return hit(word(v));
    }
    any_word(v, hit)
}

/// Whether `t` (starting with a newline) is a newline and spaces only, by whole-word compares: the
/// usual indentation between elements, which the exact test of [`all_whitespace`] (five byte
/// compares per word) then need not look at.
#[inline]
fn newline_spaces(t: &[u8]) -> bool {
    const SPACES: u64 = LO * b' ' as u64;
    const FIRST: u64 = (SPACES & !0xff) | b'\n' as u64;
    let n = t.len();
    if n <= 8 {
        let mask = u64::MAX >> (8 * (8 - n));
        return word(t) == FIRST & mask;
    }
    let mut chunks = t.chunks_exact(8);
    let mut first = FIRST;
    for c in &mut chunks {
        match <[u8; 8]>::try_from(c) {
            Ok(w) if u64::from_le_bytes(w) == first => first = SPACES,
            _ => return false,
        }
    }
    // The last word overlaps the one before, which was all spaces except the first's newline.
    chunks.remainder().is_empty()
        || matches!(t.get(n - 8..).map(<[u8; 8]>::try_from), Some(Ok(w)) if u64::from_le_bytes(w) == SPACES)
}

/// Whether text is whitespace only (`u8::is_ascii_whitespace`), eight bytes at a time: this runs
/// on the indentation between the children of every element-only element, and the compiler's
/// vectorised fold went byte by byte over runs shorter than its vectors (most of them).
#[inline]
pub(super) fn all_whitespace(t: &[u8]) -> bool {
    const HIGH: u64 = LO << 7;
    // The top bit of each byte of `w` that is one of the five whitespace bytes. Each test is the
    // exact per-byte one: `(x & 0x7f) + 0x7f` sets a byte's top bit when its low bits are not all
    // zero, and nothing carries into the next byte.
    let ws = |w: u64| {
        let eq = |c: u8| {
            let x = w ^ (LO * u64::from(c));
            !(((x & !HIGH) + !HIGH) | x) & HIGH
        };
        eq(b' ') | eq(b'\t') | eq(b'\n') | eq(0x0c) | eq(b'\r')
    };
    let n = t.len();
    if t.first() == Some(&b'\n') && newline_spaces(t) {
        return true;
    }
    if n < 8 {
        // The padding bytes of a short word are not looked at.
        let lanes = HIGH & (1u64 << (8 * n)).wrapping_sub(1);
        return ws(word(t)) & lanes == lanes;
    }
    let mut chunks = t.chunks_exact(8);
    for c in &mut chunks {
        if let Ok(w) = <[u8; 8]>::try_from(c) {
            if ws(u64::from_le_bytes(w)) != HIGH {
                return false;
            }
        }
    }
    // The last word overlaps the one before (testing a byte twice changes nothing).
    chunks.remainder().is_empty()
        || match t.get(n - 8..).map(<[u8; 8]>::try_from) {
            Some(Ok(w)) => ws(u64::from_le_bytes(w)) == HIGH,
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use quick_xml::events::Event;
    use quick_xml::Reader;

    use super::{find_byte, scan_attrs};

    /// The word search finds the same first byte as a plain search: every byte value at every
    /// position of inputs up to 80 bytes (both sides of the `memchr` cut), with the byte also
    /// planted after the first hit and bytes one above and below it around.
    #[test]
    fn find_byte_agrees_with_position() {
        for len in 0..80usize {
            for b in 0..=255u8 {
                for at in 0..=len {
                    let mut s: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37) | 1).collect();
                    s.iter_mut().for_each(|c| {
                        if *c == b {
                            *c = b.wrapping_add(1);
                        }
                    });
                    if at < len {
                        s[at] = b;
                        if at + 1 < len {
                            s[at + 1] = b.wrapping_sub(1);
                        }
                        if at + 3 < len {
                            s[at + 3] = b;
                        }
                    }
                    let want = s.iter().position(|c| *c == b);
                    assert_eq!(find_byte(&s, b), want, "len {len} byte {b} at {at}");
                }
            }
        }
    }

    /// The word test answers as the byte test for every byte value at every position of values
    /// up to 20 bytes, over clean fills of several kinds.
    #[test]
    fn needs_unescape_is_exact() {
        for len in 0..20usize {
            for fill in [b'a', 0x00, 0x0b, 0x25, 0x27, 0x80, 0xff] {
                for at in 0..len.max(1) {
                    for v in 0..=255u8 {
                        let mut b = vec![fill; len];
                        if at < len {
                            b[at] = v;
                        }
                        let slow = b.iter().any(|c| matches!(c, b'&' | b'\t' | b'\n' | b'\r'));
                        assert_eq!(super::needs_unescape(&b), slow, "{b:?}");
                    }
                }
            }
        }
    }

    /// The word test answers as `is_ascii_whitespace` byte by byte for every byte value at every
    /// position of runs up to 20 bytes of each whitespace byte.
    #[test]
    fn all_whitespace_is_exact() {
        for len in 0..20usize {
            for fill in [b' ', b'\t', b'\n', 0x0c, b'\r'] {
                for at in 0..len.max(1) {
                    for v in 0..=255u8 {
                        let mut b = vec![fill; len];
                        if at < len {
                            b[at] = v;
                        }
                        let slow = b.iter().all(u8::is_ascii_whitespace);
                        assert_eq!(super::all_whitespace(&b), slow, "{b:?}");
                    }
                }
            }
        }
    }

    /// The newline-and-spaces shortcut answers as the byte test wherever it answers: every byte
    /// value at every position of a newline and up to 30 spaces.
    #[test]
    fn newline_spaces_is_exact() {
        for len in 1..32usize {
            for at in 0..len {
                for v in 0..=255u8 {
                    let mut b = vec![b' '; len];
                    b[0] = b'\n';
                    b[at] = v;
                    let want = b[0] == b'\n' && b[1..].iter().all(|c| *c == b' ');
                    assert_eq!(super::newline_spaces(&b), want, "{b:?}");
                    let slow = b.iter().all(u8::is_ascii_whitespace);
                    assert_eq!(super::all_whitespace(&b), slow, "{b:?}");
                }
            }
        }
    }

    /// Wherever the scan accepts a start tag, quick-xml's iterator (which the reader used before, and
    /// still uses for the error when the scan does not accept) gives the same pairs and no error:
    /// every sequence of up to five pieces of attribute syntax, after an element name.
    #[test]
    fn scan_agrees_with_quick_xml() {
        const PIECES: [&str; 9] = [" ", "a", "=", "\"", "'", "\t\n", "x:y", "é", "\"v\""];
        let mut tags = vec![String::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for t in &tags {
                for p in PIECES {
                    next.push(format!("{t}{p}"));
                }
            }
            tags.extend(next.iter().cloned());
            tags = {
                tags.sort();
                tags.dedup();
                tags
            };
        }
        let (mut accepted, mut refused) = (0, 0);
        for t in &tags {
            for src in [format!("<e {t}>"), format!("<e {t}/>"), format!("<e{t}>")] {
                let mut r = Reader::from_str(&src);
                let s = match r.read_event() {
                    Ok(Event::Start(s)) | Ok(Event::Empty(s)) => s,
                    _ => continue,
                };
                let theirs: Result<Vec<(Vec<u8>, Vec<u8>)>, _> = s
                    .attributes()
                    .with_checks(false)
                    .map(|a| a.map(|a| (a.key.as_ref().to_vec(), a.value.to_vec())))
                    .collect();
                let mut ours = Vec::new();
                if scan_attrs(&src, s.attributes_raw(), &mut ours) {
                    accepted += 1;
                    let ours: Vec<(Vec<u8>, Vec<u8>)> = ours
                        .iter()
                        .map(|(k, v)| (k.to_vec(), v.as_bytes().to_vec()))
                        .collect();
                    assert_eq!(theirs.ok(), Some(ours), "{src:?}");
                } else {
                    refused += 1;
                }
            }
        }
        assert!(accepted > 1000 && refused > 1000, "{accepted} {refused}");
    }
}
