//! The shape of the schema table (`schema_gen.rs`, generated from the errata-corrected RFC 7970 XSD)
//! and the lexical checks of the simple types it uses.
//!
//! The table is data, not code: validation (`validate.rs`) and the JSON binding (`json.rs`) both walk it,
//! so the two can never disagree about which children an element may have.

use super::schema_gen::DECLS;

/// IODEF v2 namespace.
pub const NS_IODEF: &str = "urn:ietf:params:xml:ns:iodef-2.0";
/// IODEF v1 namespace (RFC 5070).
pub const NS_IODEF_V1: &str = "urn:ietf:params:xml:ns:iodef-1.0";
/// RFC 7495 enumeration reference namespace.
pub const NS_ENUM: &str = "urn:ietf:params:xml:ns:iodef-enum-1.0";
/// RFC 7203 SCI namespace.
pub const NS_SCI: &str = "urn:ietf:params:xml:ns:iodef-sci-1.0";
/// XML Signature namespace.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The `xml:` namespace.
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
/// XML Schema instance namespace (`xsi:schemaLocation`).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Namespaces the table knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ns {
    Iodef,
    Enum,
    Sci,
    Ds,
}

impl Ns {
    /// The namespace URI.
    pub(crate) fn uri(self) -> &'static str {
        match self {
            Ns::Iodef => NS_IODEF,
            Ns::Enum => NS_ENUM,
            Ns::Sci => NS_SCI,
            Ns::Ds => NS_DS,
        }
    }
    /// Conventional prefix when serialising.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Ns::Iodef => "",
            Ns::Enum => "enum",
            Ns::Sci => "sci",
            Ns::Ds => "ds",
        }
    }
}

/// A simple (text) type (all XSD built-ins the IODEF schemas use, whether or not the table needs them now).
#[allow(dead_code)]
#[derive(Clone, Copy, Debug)]
pub(crate) enum St {
    String,
    DateTime,
    Integer,
    Float,
    PositiveFloat,
    AnyUri,
    Id,
    IdRef,
    NcName,
    NmToken,
    HexBinary,
    Base64,
    Boolean,
    Lang,
    Timezone,
    Portlist,
    Enum(&'static [&'static str]),
}

/// One attribute declaration.
#[derive(Debug)]
pub(crate) struct Attr {
    pub name: &'static str,
    pub ty: St,
    pub required: bool,
    #[allow(dead_code)]
    pub default: Option<&'static str>,
    pub fixed: Option<&'static str>,
}

/// A content-model particle; `max == u32::MAX` means unbounded.
#[derive(Debug)]
pub(crate) enum Particle {
    Elem {
        min: u32,
        max: u32,
        decl: usize,
    },
    Seq {
        min: u32,
        max: u32,
        items: &'static [Particle],
    },
    Choice {
        min: u32,
        max: u32,
        items: &'static [Particle],
    },
    Any {
        min: u32,
        max: u32,
        #[allow(dead_code)]
        lax: bool,
        other_ns: bool,
    },
}

impl Particle {
    /// (min, max) occurrences.
    pub(crate) fn occurs(&self) -> (u32, u32) {
        match *self {
            Particle::Elem { min, max, .. }
            | Particle::Seq { min, max, .. }
            | Particle::Choice { min, max, .. }
            | Particle::Any { min, max, .. } => (min, max),
        }
    }
}

/// What an element may contain.
#[derive(Debug)]
pub(crate) enum Content {
    /// Text only, of this type.
    Simple(St),
    /// Nothing at all.
    Empty,
    /// Child elements (and text if mixed).
    Complex { mixed: bool, model: Particle },
    /// Not modelled by gridlink (xmldsig, RFC 7203 SCI): anything goes.
    Opaque,
}

/// One element declaration.
#[derive(Debug)]
pub(crate) struct Decl {
    pub ns: Ns,
    pub name: &'static str,
    /// Named XSD type (`MLStringType`, `ExtensionType`, …) or "".
    pub ty: &'static str,
    pub content: Content,
    pub attrs: &'static [Attr],
}

/// Number of declarations in the table.
pub(crate) fn decl_count() -> usize {
    DECLS.len()
}

/// The declaration at `i`.
pub(crate) fn decl(i: usize) -> &'static Decl {
    &DECLS[i]
}

pub(crate) use super::names::{find, known_name};

/// Index of `IODEF-Document`.
pub(crate) const ROOT: usize = 0;

/// XSD whitespace collapse.
pub(crate) fn collapse(s: &str) -> String {
    collapsed(s).into_owned()
}

/// Whether any byte of `b` is a space or below (whitespace or a control byte), eight bytes at a
/// time: typed values are short, so the vectorised fold this replaces ran mostly in its
/// byte-at-a-time tail (~70 instructions a call in the profile, on every typed value).
#[inline]
fn any_le_space(b: &[u8]) -> bool {
    // `w - 0x21…21` borrows into a byte's top bit when that byte is below 0x21; `& !w` drops the
    // bytes whose top bit was already set (0x80 and above). As a yes/no answer this is exact.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let hit = |w: u64| w.wrapping_sub(ONES * 0x21) & !w & HIGH != 0;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if hit(u64::from_le_bytes(w)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|c| *c <= b' ')
}

/// XSD whitespace collapse, allocating only when something changes.
pub(crate) fn collapsed(s: &str) -> std::borrow::Cow<'_, str> {
    let b = s.as_bytes();
    // No whitespace or control byte at all (the usual typed value): nothing to collapse.
    if !any_le_space(b) {
        return std::borrow::Cow::Borrowed(s);
    }
    // Already collapsed, or whitespace only around the value (a typed value on its own indented
    // line, the usual case here): the collapsed text is the trimmed slice, no copy. Trimming the bytes that
    // `split_ascii_whitespace` splits at leaves a slice that starts and ends with a word; if every
    // gap inside is one space, joining its words with spaces gives the slice itself.
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let mut prev_space = false;
    let mut single = true;
    for &c in t.as_bytes() {
        match c {
            b' ' if !prev_space => prev_space = true,
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                single = false;
                break;
            }
            _ => prev_space = false,
        }
    }
    if single {
        return std::borrow::Cow::Borrowed(t);
    }
    // The same text as joining `split_ascii_whitespace` with spaces, without the `Vec` of words
    // (this runs for every typed value that has line breaks or indentation in it).
    let mut out = String::with_capacity(s.len());
    for w in s.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out.into()
}

/// Checks `value` against `ty`; `Err` is a human message.
pub(crate) fn check(ty: St, value: &str) -> Result<(), String> {
    // The types checked on the value as it is: no collapsed copy to make first.
    let raw = match ty {
        St::String => return Ok(()),
        St::AnyUri => Some(is_any_uri(value)),
        St::Timezone => Some(is_timezone(value)),
        St::Portlist => Some(is_portlist(value)),
        _ => None,
    };
    if let Some(ok) = raw {
        return if ok { Ok(()) } else { Err(invalid(ty, value)) };
    }
    let v = collapsed(value);
    let ok = match ty {
        // Decided above.
        St::String | St::AnyUri | St::Timezone | St::Portlist => true,
        St::DateTime => is_datetime(&v),
        St::Integer => is_integer(&v),
        St::Float => is_float(&v),
        St::PositiveFloat => {
            is_float(&v) && v.parse::<f64>().map(|f| f > 0.0).unwrap_or(v == "INF")
        }
        St::Id | St::IdRef | St::NcName => is_ncname(&v),
        St::NmToken => !v.is_empty() && v.chars().all(is_name_char),
        St::HexBinary => v.len() % 2 == 0 && v.bytes().all(|b| b.is_ascii_hexdigit()),
        St::Base64 => is_base64(&v),
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

fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
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
        parts[0]
            .parse::<u64>()
            .ok()
            .filter(|_| parts[0].bytes().all(|b| b.is_ascii_digit())),
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

/// Base64 after dropping spaces: a multiple of four characters, at most two `=` and only at the end,
/// the rest `A-Za-z0-9+/`. One pass without copying the value (it copied every value to a `Vec`).
fn is_base64(s: &str) -> bool {
    // Characters (spaces aside), and the length of the run of `=` that ends them so far.
    let (mut n, mut pad) = (0usize, 0usize);
    for b in s.bytes().filter(|b| *b != b' ') {
        n += 1;
        if b == b'=' {
            pad += 1;
        } else if pad > 0 || !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/') {
            // An `=` before the end, or a character outside the alphabet.
            return false;
        }
    }
    n % 4 == 0 && pad <= 2
}

/// xs:anyURI is nearly anything; reject what cannot be a URI reference at all.
fn is_any_uri(s: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::{any_le_space, collapsed, date_parts};

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

    /// The word-at-a-time test agrees with the byte loop for every byte value at every position
    /// of values up to 19 bytes, beside neighbours that do and do not borrow.
    #[test]
    fn any_le_space_is_exact() {
        for len in 1..20 {
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

    /// Collapsing borrows whenever the result is a slice of the value, and equals joining the
    /// words with single spaces.
    #[test]
    fn collapsed_matches_word_join() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\n  189234\n    ",
            "a b",
            "a  b",
            "a\tb",
            " a b ",
            "\u{c}a",
            "a\u{c}",
            "x\u{1}y",
            "é b ",
            "  é\n",
        ] {
            let join = s.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(collapsed(s), join, "{s:?}");
        }
        assert!(matches!(
            collapsed("\n  189234\n  "),
            std::borrow::Cow::Borrowed("189234")
        ));
    }
}
