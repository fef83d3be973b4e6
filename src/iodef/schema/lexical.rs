//! The lexical checks of the simple types the schema table uses ([`check`]): whether a value is a
//! DATETIME, an enumeration value, base64, and so on. Values are collapsed first
//! (`whitespace.rs`) where the type says so.

use super::shape::St;
use super::whitespace::collapsed;

/// Checks `value` against `ty`; `Err` is a human message.
pub(crate) fn check(ty: St, value: &str) -> Result<(), String> {
    // The types checked on the value as it is: no collapsed copy to make first.
    let raw = match ty {
        St::String => return Ok(()),
        St::AnyUri => Some(is_any_uri(value)),
        St::Timezone => Some(is_timezone(value)),
        St::Portlist => Some(is_portlist(value)),
        St::Base64 => Some(is_base64(value)),
        _ => None,
    };
    if let Some(ok) = raw {
        return if ok { Ok(()) } else { Err(invalid(ty, value)) };
    }
    let v = collapsed(value);
    let ok = match ty {
        // Decided above.
        St::String | St::AnyUri | St::Timezone | St::Portlist | St::Base64 => true,
        St::DateTime => is_datetime(&v),
        St::Integer => is_integer(&v),
        St::Float => is_float(&v),
        St::PositiveFloat => {
            is_float(&v) && v.parse::<f64>().map(|f| f > 0.0).unwrap_or(v == "INF")
        }
        St::Id | St::IdRef | St::NcName => is_ncname(&v),
        St::NmToken => !v.is_empty() && v.chars().all(is_name_char),
        St::HexBinary => v.len().is_multiple_of(2) && v.bytes().all(|b| b.is_ascii_hexdigit()),
        St::Boolean => matches!(&*v, "true" | "false" | "1" | "0"),
        St::Lang => v.is_empty() || is_lang(&v),
        St::Enum(values) => {
            if values.contains(&&*v) {
                return Ok(());
            }
            return Err(format!(
                "value {:?} is not one of: {}",
                value,
                values.join(", ")
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(ty, value))
    }
}

/// The message of a value that is not of its type.
fn invalid(ty: St, value: &str) -> String {
    format!("value {:?} is not a valid {}", value, type_name(ty))
}

/// XSD-ish name of a simple type for messages.
pub(crate) fn type_name(ty: St) -> &'static str {
    match ty {
        St::String => "string",
        St::DateTime => "DATETIME (xs:dateTime)",
        St::Integer => "INTEGER (xs:integer)",
        St::Float => "REAL (xs:float)",
        St::PositiveFloat => "positive REAL",
        St::AnyUri => "URL (xs:anyURI)",
        St::Id => "ID (xs:ID)",
        St::IdRef => "IDREF (xs:IDREF)",
        St::NcName => "xs:NCName",
        St::NmToken => "xs:NMTOKEN",
        St::HexBinary => "HEXBIN (xs:hexBinary)",
        St::Base64 => "BYTE (xs:base64Binary)",
        St::Boolean => "xs:boolean",
        St::Lang => "language tag",
        St::Timezone => "TIMEZONE",
        St::Portlist => "PORTLIST",
        St::Enum(_) => "enumeration value",
    }
}

/// The value of `s` when it is exactly `n` ASCII digits (`n` ≤ 9, so no overflow), read by hand:
/// `str::parse` showed in the profile (six calls per DATETIME value).
fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        Some(s.bytes().fold(0, |v, b| v * 10 + u32::from(b - b'0')))
    } else {
        None
    }
}

/// `s.parse::<u64>()` for a non-empty string of ASCII digits (`None` on overflow, as `parse`).
fn digits_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u64, |v, b| {
        v.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

fn is_integer(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(s: &str) -> bool {
    if matches!(s, "INF" | "-INF" | "NaN") {
        return true;
    }
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if let Some(e) = exp {
        if !is_integer(e) {
            return false;
        }
    }
    let (int, frac) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    let all = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    (!int.is_empty() || !frac.is_empty()) && all(int) && all(frac)
}

/// Timezone suffix of xs:dateTime: Z or ±hh:mm with hh ≤ 14.
fn is_tz_suffix(s: &str) -> bool {
    if s.is_empty() || s == "Z" {
        return true;
    }
    let b = s.as_bytes();
    if s.len() != 6 || !(b[0] == b'+' || b[0] == b'-') || b[3] != b':' {
        return false;
    }
    match (digits(&s[1..3], 2), digits(&s[4..6], 2)) {
        (Some(h), Some(m)) => m <= 59 && (h < 14 || (h == 14 && m == 0)),
        _ => false,
    }
}

/// `date` split at `-` when that gives exactly three parts (as `date.split('-')` would).
fn date_parts(date: &str) -> Option<[&str; 3]> {
    let mut dashes = date.bytes().enumerate().filter(|(_, b)| *b == b'-');
    let (Some((a, _)), Some((b, _)), None) = (dashes.next(), dashes.next(), dashes.next()) else {
        return None;
    };
    Some([date.get(..a)?, date.get(a + 1..b)?, date.get(b + 1..)?])
}

/// xs:dateTime: `-?YYYY-MM-DDThh:mm:ss(.s+)?(Z|±hh:mm)?`.
pub(crate) fn is_datetime(s: &str) -> bool {
    let s2 = s.strip_prefix('-').unwrap_or(s);
    // Byte searches: `str::find` and `str::split` with a `char` showed in the profile (a searcher
    // set up per call, ~900 instructions a value); `T` and `-` are ASCII, so the same positions.
    let Some(tpos) = s2.bytes().position(|b| b == b'T') else {
        return false;
    };
    let (date, rest) = (&s2[..tpos], &s2[tpos + 1..]);
    let Some(parts) = date_parts(date) else {
        return false;
    };
    if parts[0].len() < 4 || (parts[0].len() > 4 && parts[0].starts_with('0')) {
        return false;
    }
    let (Some(y), Some(mo), Some(d)) = (
        digits_u64(parts[0]),
        digits(parts[1], 2),
        digits(parts[2], 2),
    ) else {
        return false;
    };
    if y == 0 && !s.starts_with('-') && parts[0] == "0000" {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d < 1 || d > mdays[(mo - 1) as usize] {
        return false;
    }
    if rest.len() < 8 {
        return false;
    }
    let Some((time, tz)) = rest.split_at_checked(8) else {
        return false;
    };
    let tb = time.as_bytes();
    if tb[2] != b':' || tb[5] != b':' {
        return false;
    }
    let (Some(h), Some(mi), Some(sec)) = (
        digits(&time[0..2], 2),
        digits(&time[3..5], 2),
        digits(&time[6..8], 2),
    ) else {
        return false;
    };
    let (frac, tz) = match tz.strip_prefix('.') {
        Some(r) => {
            let n = r.bytes().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return false;
            }
            (&r[..n], &r[n..])
        }
        None => ("", tz),
    };
    let midnight = h == 24 && mi == 0 && sec == 0 && frac.bytes().all(|b| b == b'0');
    (h < 24 || midnight) && mi < 60 && sec < 60 && is_tz_suffix(tz)
}

fn is_timezone(s: &str) -> bool {
    if s == "Z" {
        return true;
    }
    let b = s.as_bytes();
    s.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && matches!(digits(&s[1..3], 2), Some(0..=14))
        && b[4].is_ascii_digit()
        && (b'0'..=b'5').contains(&b[4])
        && b[5].is_ascii_digit()
}

fn is_portlist(s: &str) -> bool {
    !s.is_empty()
        && s.split(',').all(|item| {
            let mut it = item.splitn(2, '-');
            let num = |x: Option<&str>| {
                x.is_some_and(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
            };
            let first = num(it.next());
            match it.next() {
                Some(r) => first && num(Some(r)),
                None => first,
            }
        })
}

fn is_lang(s: &str) -> bool {
    s.split('-').enumerate().all(|(i, p)| {
        (1..=8).contains(&p.len())
            && if i == 0 {
                p.bytes().all(|b| b.is_ascii_alphabetic())
            } else {
                p.bytes().all(|b| b.is_ascii_alphanumeric())
            }
    })
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '\u{b7}')
}

fn is_ncname(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(is_name_start) && cs.all(|c| c != ':' && is_name_char(c))
}

/// What each byte is to [`is_base64`]: 0 not allowed, 1 of the alphabet, 2 `=`, 3 ASCII whitespace.
const BASE64_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
            1
        } else if b == b'=' {
            2
        } else if b.is_ascii_whitespace() {
            3
        } else {
            0
        };
        c += 1;
    }
    t
};

/// xs:base64Binary on the value as it is: ASCII whitespace dropped, a multiple of four characters,
/// at most two `=` and only at the end, the rest `A-Za-z0-9+/`. Collapsing first (as the other
/// types are) turns whitespace runs into single spaces and trims, and the spaces were then dropped:
/// the same characters in the same order, so the same answer, without copying the value (a
/// certificate of a kilobyte or more, with a line break every 64 characters, was copied each time).
fn is_base64(s: &str) -> bool {
    // Characters (whitespace aside), and the length of the run of `=` that ends them so far.
    let (mut n, mut pad) = (0usize, 0usize);
    for &b in s.as_bytes() {
        match BASE64_CLASS[usize::from(b)] {
            1 if pad == 0 => n += 1,
            2 => {
                n += 1;
                pad += 1;
            }
            3 => {}
            // An `=` before the end, or a character outside the alphabet.
            _ => return false,
        }
    }
    n % 4 == 0 && pad <= 2
}

/// xs:anyURI is nearly anything; reject what cannot be a URI reference at all: a `%` not followed
/// by two hex digits. Looked at on the value as it is: collapsing changes only whitespace, which is
/// never a hex digit, so each `%` has the same two bytes after it (or whitespace or the end, both
/// a rejection) either way; collapsing first copied every URL with a line break in it.
fn is_any_uri(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(at) = b.get(i..).and_then(|r| r.iter().position(|c| *c == b'%')) {
        let p = i + at;
        let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
        if !(hex(p + 1) && hex(p + 2)) {
            return false;
        }
        i = p + 3;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::whitespace::collapsed;
    use super::{date_parts, digits, digits_u64, is_any_uri, is_base64};

    /// Every string of up to `max` characters from `chars`, the empty one included.
    fn every_string(chars: &[char], max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max {
            let next: Vec<String> = last
                .iter()
                .flat_map(|s| chars.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(next.iter().cloned());
            last = next;
        }
        all
    }

    /// `date_parts` is `split('-')` when that gives three parts: every string of up to six
    /// characters from `-`, a digit and a multi-byte character.
    #[test]
    fn date_parts_is_split() {
        let mut all = vec![String::new()];
        for _ in 0..6 {
            let next: Vec<String> = all
                .iter()
                .flat_map(|s| ['-', '1', 'é'].map(|c| format!("{s}{c}")))
                .collect();
            all.extend(next);
        }
        for s in all.iter().map(String::as_str) {
            let split: Vec<&str> = s.split('-').collect();
            let want = <[&str; 3]>::try_from(split).ok();
            assert_eq!(date_parts(s), want, "{s:?}");
        }
    }

    /// The hand-made digit readers give what `str::parse` gives, for digit strings of every length
    /// up to 22 (past `u64`'s range) and for strings that are not all digits.
    #[test]
    fn digit_readers_are_parse() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "+1".into(),
            "-1".into(),
            "1a".into(),
            " 1".into(),
        ];
        for len in 1..=22 {
            for d in ['0', '1', '9'] {
                cases.push(std::iter::repeat_n(d, len).collect());
            }
            cases.push(format!("1{}", "8".repeat(len)));
        }
        cases.push("18446744073709551615".into());
        cases.push("18446744073709551616".into());
        for s in &cases {
            let all = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            let want = s.parse::<u64>().ok().filter(|_| all);
            assert_eq!(digits_u64(s), want, "{s:?}");
            for n in 1..=9 {
                let want = (s.len() == n && all)
                    .then(|| s.parse::<u32>().ok())
                    .flatten();
                assert_eq!(digits(s, n), want, "{s:?} {n}");
            }
        }
    }

    /// `is_base64` on the raw value answers as the byte loop it replaced did on the collapsed value,
    /// for every string of up to four characters from a set with each class of byte, and for longer
    /// values with line breaks.
    #[test]
    fn base64_raw_is_collapsed() {
        fn reference(s: &str) -> bool {
            let v = collapsed(s);
            let (mut n, mut pad) = (0usize, 0usize);
            for b in v.bytes().filter(|b| *b != b' ') {
                n += 1;
                if b == b'=' {
                    pad += 1;
                } else if pad > 0 || !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/') {
                    return false;
                }
            }
            n % 4 == 0 && pad <= 2
        }
        let chars = [
            'A', 'z', '0', '+', '/', '=', ' ', '\n', '\t', '\r', '\u{c}', '-', 'é', '\u{b}',
        ];
        let mut all = every_string(&chars, 4);
        let cert = "MIIB\n  IjAN\r\n\tBgkq ==\n";
        all.extend([
            cert.to_string(),
            format!(" {cert} "),
            cert.replace('=', "A"),
        ]);
        for s in &all {
            assert_eq!(is_base64(s), reference(s), "{s:?}");
        }
    }

    /// `is_any_uri` on the raw value answers as the character loop it replaced did on the collapsed
    /// value, for every string of up to five characters from a set with each kind of character.
    #[test]
    fn any_uri_raw_is_collapsed() {
        fn reference(s: &str) -> bool {
            let v = collapsed(s);
            let mut chars = v.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '%' {
                    let a = chars.next();
                    let b = chars.next();
                    if !(a.is_some_and(|a| a.is_ascii_hexdigit())
                        && b.is_some_and(|b| b.is_ascii_hexdigit()))
                    {
                        return false;
                    }
                }
            }
            true
        }
        let chars = ['%', 'a', 'F', '9', 'g', ' ', '\n', '\t', 'é'];
        let all = every_string(&chars, 5);
        for s in &all {
            assert_eq!(is_any_uri(s), reference(s), "{s:?}");
        }
    }
}
