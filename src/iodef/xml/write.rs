//! The XML writer of the document tree: one root element, no declaration, comments or processing
//! instructions; the IODEF namespace as the default namespace, other prefixes kept where possible.
//! The reader is `read.rs`; this file imports nothing else of the folder.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::iodef::arena::{Element, Node};
use crate::iodef::schema::{NS_IODEF, NS_XML};

/// The entity that replaces byte `c` in text content, if any.
#[inline]
fn text_entity(c: u8) -> Option<&'static str> {
    match c {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'\r' => Some("&#13;"),
        _ => None,
    }
}

/// The entity that replaces byte `c` in an attribute value, if any.
#[inline]
fn attr_entity(c: u8) -> Option<&'static str> {
    match c {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'"' => Some("&quot;"),
        b'\t' => Some("&#9;"),
        b'\n' => Some("&#10;"),
        b'\r' => Some("&#13;"),
        _ => None,
    }
}

/// Which bytes each escaper replaces, as bits (1: text, 2: attribute values), so that the test of
/// the usual byte, which neither replaces, is one table load instead of `entity`'s chain of
/// compares (which showed when xmldsig content is written for JSON). A test checks the table
/// against the two `entity` functions.
const SPECIAL: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'&' as usize] = 3;
    t[b'<' as usize] = 3;
    t[b'\r' as usize] = 3;
    t[b'>' as usize] = 1;
    t[b'"' as usize] = 2;
    t[b'\t' as usize] = 2;
    t[b'\n' as usize] = 2;
    t
};

/// Appends `s` to `out` with each byte that `entity` replaces replaced (the bytes whose
/// [`SPECIAL`] entry has a bit of `mask`), copying the runs between them whole: a `push` per
/// character showed when xmldsig and SCI content is written for JSON. Every replaced byte is
/// ASCII, so the runs are slices at character boundaries.
#[inline]
fn escape_runs(s: &str, out: &mut String, mask: u8, entity: impl Fn(u8) -> Option<&'static str>) {
    let mut start = 0;
    for (i, c) in s.bytes().enumerate() {
        if SPECIAL[usize::from(c)] & mask == 0 {
            continue;
        }
        if let Some(e) = entity(c) {
            out.push_str(s.get(start..i).unwrap_or_default());
            out.push_str(e);
            start = i + 1;
        }
    }
    out.push_str(s.get(start..).unwrap_or_default());
}

/// Escapes text content.
pub(crate) fn escape_text(s: &str, out: &mut String) {
    escape_runs(s, out, 1, text_entity);
}

fn escape_attr(s: &str, out: &mut String) {
    escape_runs(s, out, 2, attr_entity);
}

/// In-scope namespace bindings while writing (prefix → URI; "" is the default namespace). Prefixes
/// and URIs are the tree's own strings where they can be (nearly always), so that looking one up
/// and handing it on copies no text: a `String` per prefix per element showed when xmldsig content
/// is written for JSON.
type Scope<'d> = BTreeMap<Cow<'d, str>, Cow<'d, str>>;

/// Serialises `el` (and its subtree) as XML. `scope` holds the bindings already in force.
fn write_element<'d>(el: Element<'d>, scope: &Scope<'d>, out: &mut String) {
    // Copied only by an element that declares something (cloning the map per element showed when
    // xmldsig content is written for JSON).
    let mut scope: Cow<'_, Scope<'d>> = Cow::Borrowed(scope);
    let mut decls: Vec<(Cow<'d, str>, Cow<'d, str>)> = Vec::new();
    let mut bind = |want: Option<&'d str>,
                    ns: &'d str,
                    scope: &mut Cow<'_, Scope<'d>>,
                    attr: bool|
     -> Cow<'d, str> {
        if ns == NS_XML {
            return Cow::Borrowed("xml");
        }
        if ns.is_empty() {
            if !attr && scope.get("").is_some_and(|d| !d.is_empty()) {
                scope.to_mut().insert(Cow::Borrowed(""), Cow::Borrowed(""));
                decls.push((Cow::Borrowed(""), Cow::Borrowed("")));
            }
            return Cow::Borrowed("");
        }
        // Reuse a binding already in scope.
        if let Some((p, _)) = scope
            .iter()
            .find(|(p, u)| *u == ns && !(attr && p.is_empty()))
        {
            if want.is_none_or(|w| w == p) || !attr {
                return p.clone();
            }
        }
        let mut p: Cow<'d, str> = match want {
            Some(w) if !w.is_empty() => Cow::Borrowed(w),
            _ if !attr && ns == NS_IODEF => Cow::Borrowed(""),
            _ => Cow::Borrowed("ns"),
        };
        let base = p.clone();
        let mut i = 1;
        while scope.get(&*p).is_some_and(|u| u != ns) || (attr && p.is_empty()) {
            p = Cow::Owned(format!(
                "{}{}",
                if base.is_empty() { "ns" } else { &base },
                i
            ));
            i += 1;
        }
        scope.to_mut().insert(p.clone(), Cow::Borrowed(ns));
        decls.push((p.clone(), Cow::Borrowed(ns)));
        p
    };
    let want = if el.ns() == NS_IODEF {
        Some("")
    } else {
        el.prefix()
    };
    let eprefix = bind(want, el.ns(), &mut scope, false);
    // The prefixes of qualified attributes, bound before anything is written (their declarations
    // come before the attributes); the attributes are then written straight into `out` (building
    // them in a `String` of their own, and the qualified name in another, showed when xmldsig
    // content is written for JSON).
    let aprefixes: Vec<Cow<'d, str>> = el
        .attrs()
        .filter(|a| !a.ns.is_empty())
        .map(|a| bind(a.prefix, a.ns, &mut scope, true))
        .collect();
    let qname = |out: &mut String| {
        if !eprefix.is_empty() {
            out.push_str(&eprefix);
            out.push(':');
        }
        out.push_str(el.name());
    };
    out.push('<');
    qname(out);
    for (p, u) in &decls {
        if p.is_empty() {
            let _ = write!(out, " xmlns=\"");
        } else {
            let _ = write!(out, " xmlns:{p}=\"");
        }
        escape_attr(u, out);
        out.push('"');
    }
    let mut aprefix = aprefixes.iter();
    for a in el.attrs() {
        let p = if a.ns.is_empty() {
            ""
        } else {
            aprefix.next().map_or("", |p| &**p)
        };
        out.push(' ');
        if !p.is_empty() {
            out.push_str(p);
            out.push(':');
        }
        out.push_str(a.name);
        out.push_str("=\"");
        escape_attr(a.value, out);
        out.push('"');
    }
    if el.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for c in el.children() {
        match c {
            Node::Element(e) => write_element(e, &scope, out),
            Node::Text(t) => escape_text(t, out),
        }
    }
    out.push_str("</");
    qname(out);
    out.push('>');
}

/// Serialises the children of `el` (its content) as an XML fragment whose elements declare every
/// namespace they use; used for `dtype="xml"` extension content in JSON.
pub(crate) fn write_content(el: Element<'_>) -> String {
    let mut out = String::with_capacity(INITIAL);
    for c in el.children() {
        match c {
            Node::Element(e) => write_element(e, &Scope::new(), &mut out),
            Node::Text(t) => escape_text(t, &mut out),
        }
    }
    out
}

/// Room the output starts with: xmldsig elements written for JSON are a few hundred bytes, and
/// growing from nothing (eight reallocations to 2 KiB) showed in the profile.
const INITIAL: usize = 512;

/// Serialises a whole tree with no bindings in scope.
pub(crate) fn to_string(el: Element<'_>) -> String {
    let mut out = String::with_capacity(INITIAL);
    write_element(el, &Scope::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::{escape_attr, escape_text};

    /// The character-at-a-time escapers the run-copying ones replaced, as the reference.
    fn reference(s: &str, attr: bool) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' if !attr => out.push_str("&gt;"),
                '"' if attr => out.push_str("&quot;"),
                '\t' if attr => out.push_str("&#9;"),
                '\n' if attr => out.push_str("&#10;"),
                '\r' => out.push_str("&#13;"),
                _ => out.push(c),
            }
        }
        out
    }

    /// The table says exactly which bytes each `entity` function replaces.
    #[test]
    fn special_table_is_the_entity_functions() {
        for c in 0..=255u8 {
            let t = super::SPECIAL[usize::from(c)];
            assert_eq!(t & 1 != 0, super::text_entity(c).is_some(), "{c}");
            assert_eq!(t & 2 != 0, super::attr_entity(c).is_some(), "{c}");
        }
    }

    /// Every string of up to two characters from every ASCII character and some multi-byte ones,
    /// and of three from the special ones and a few others, escaped both ways after some text.
    #[test]
    fn escapers_agree_with_char_loop() {
        let mut chars: Vec<char> = (0u8..0x80).map(char::from).collect();
        chars.extend(['é', '€', '𝄞', '\u{80}', '\u{7ff}']);
        let few = [
            '&', '<', '>', '"', '\t', '\n', '\r', 'a', 'é', '𝄞', ' ', '\'',
        ];
        let mut strings = vec![String::new()];
        for a in &chars {
            strings.push(a.to_string());
            for b in &chars {
                strings.push(format!("{a}{b}"));
            }
        }
        for a in few {
            for b in few {
                for c in few {
                    strings.push(format!("{a}{b}{c}"));
                }
            }
        }
        for s in &strings {
            let (mut t, mut a) = ("x".to_string(), "x".to_string());
            escape_text(s, &mut t);
            escape_attr(s, &mut a);
            assert_eq!(t, format!("x{}", reference(s, false)), "{s:?}");
            assert_eq!(a, format!("x{}", reference(s, true)), "{s:?}");
        }
    }
}
