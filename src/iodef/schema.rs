//! The shape of the schema table (`schema_gen.rs`, generated from the errata-corrected RFC 7970 XSD)
//! and the XSD whitespace collapse; the lexical checks of the simple types it uses are in `lexical.rs`.
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
        super::lex::any_word(b, hit)
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

pub(crate) use super::lexical::check;

#[cfg(test)]
mod tests {
    use super::{any_le_space, collapsed};

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
