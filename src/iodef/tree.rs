//! The document tree: a namespace-resolved XML element tree with line numbers, read with quick-xml
//! under hard limits (no DTD, only the five predefined entities, size and depth caps). The writer
//! (one root element without declaration, comments or processing instructions) is `write.rs`.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::error::IodefError;
use super::schema::{NS_DS, NS_ENUM, NS_IODEF, NS_SCI, NS_XML, NS_XSI};
pub(crate) use super::write::{to_string, write_content};

/// Bytes of a name or namespace from quick-xml as text (they are slices of a `&str`, so this only
/// fails on a split multi-byte character, which cannot happen; stay safe anyway).
fn utf8(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// `bytes` as the part of `src` it borrows, when it does: quick-xml reading a `&str` hands out
/// slices of it, and re-validating their UTF-8 showed in the profile while a slice of `src` only
/// costs a bounds and char-boundary check. `None` for bytes from anywhere else.
fn in_src<'s>(src: &'s str, bytes: &[u8]) -> Option<&'s str> {
    let start = (bytes.as_ptr() as usize).checked_sub(src.as_ptr() as usize)?;
    src.get(start..start.checked_add(bytes.len())?)
}

/// `bytes` (from quick-xml reading `src`) as text; `what` names it in the error.
fn text_in<'s>(
    src: &'s str,
    bytes: &'s [u8],
    line: u32,
    what: &str,
) -> Result<&'s str, IodefError> {
    match in_src(src, bytes) {
        Some(s) => Ok(s),
        None => std::str::from_utf8(bytes)
            .map_err(|_| IodefError::xml(line, format!("{what} is not UTF-8"))),
    }
}

/// A local name, shared with the schema table when it is one of its names (nearly always in IODEF),
/// so that a parsed tree allocates no name strings.
pub(crate) fn name_of(s: &str) -> Cow<'static, str> {
    match super::schema::known_name(s) {
        Some(k) => Cow::Borrowed(k.name),
        None => Cow::Owned(s.to_string()),
    }
}

/// Shares the namespace URIs and prefixes IODEF documents use instead of allocating them per element.
fn intern(b: &[u8]) -> Cow<'static, str> {
    // Compared as bytes: the known ones are ASCII, so only the rest needs a UTF-8 check.
    for known in [
        NS_IODEF, NS_DS, NS_ENUM, NS_SCI, NS_XSI, NS_XML, "iodef", "ds", "enum", "sci", "xsi", "",
    ] {
        if b == known.as_bytes() {
            return Cow::Borrowed(known);
        }
    }
    Cow::Owned(utf8(b).into_owned())
}

/// Largest accepted input, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Deepest accepted element nesting.
pub const MAX_DEPTH: usize = 256;

/// An XML attribute, namespace-resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI ("" for unqualified attributes, the usual case in IODEF).
    pub ns: Cow<'static, str>,
    /// Local name (borrowed from the schema table when it is one of its names).
    pub name: Cow<'static, str>,
    /// Prefix used in the source, kept for serialisation only.
    pub prefix: Option<Cow<'static, str>>,
    /// Unescaped, normalised value.
    pub value: String,
}

/// A child node.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (already unescaped; CDATA sections become text).
    Text(String),
}

/// An element of an IODEF document (or of extension content carried inside one).
///
/// The model is generic and driven by the schema table: every RFC 7970 class is an `Element` whose
/// local name is the class name, so extension content (`AdditionalData`, RFC 7203 SCI, xmldsig) is
/// carried through unchanged alongside the IODEF classes.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Element {
    /// Namespace URI.
    pub ns: Cow<'static, str>,
    /// Local name (the IODEF class name for IODEF elements; borrowed from the schema table when it
    /// is one of its names, so parsing allocates no name strings).
    pub name: Cow<'static, str>,
    /// Prefix used in the source, kept for serialisation only.
    pub prefix: Option<Cow<'static, str>>,
    /// Attributes, in source order, without namespace declarations.
    pub attrs: Vec<Attribute>,
    /// Children in document order.
    pub children: Vec<Node>,
    /// 1-based source line of the start tag (0 when built from JSON).
    pub line: u32,
}

impl Element {
    /// A new element in the IODEF v2 namespace.
    pub fn iodef(name: &str) -> Self {
        Element {
            ns: Cow::Borrowed(NS_IODEF),
            name: name_of(name),
            ..Default::default()
        }
    }

    /// Value of the unqualified attribute `name` (`xml:lang` for the xml namespace one).
    pub fn attr(&self, name: &str) -> Option<&str> {
        let (ns, local) = match name.strip_prefix("xml:") {
            Some(l) => (NS_XML, l),
            None => ("", name),
        };
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.name == local)
            .map(|a| a.value.as_str())
    }

    /// Sets an unqualified (or `xml:`) attribute.
    pub fn set_attr(&mut self, name: &str, value: &str) {
        let (ns, local) = match name.strip_prefix("xml:") {
            Some(l) => (NS_XML, l),
            None => ("", name),
        };
        self.attrs.push(Attribute {
            ns: Cow::Borrowed(ns),
            name: name_of(local),
            prefix: None,
            value: value.to_string(),
        });
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Child elements in the IODEF namespace called `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements()
            .filter(move |e| e.name == name && e.ns == NS_IODEF)
    }

    /// First IODEF child called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name && e.ns == NS_IODEF)
    }

    /// Concatenated text children.
    pub fn text(&self) -> String {
        self.text_cow().into_owned()
    }

    /// Concatenated text children, borrowed when there is at most one text child (the usual case:
    /// the parser merges adjacent text).
    pub(crate) fn text_cow(&self) -> Cow<'_, str> {
        let mut texts = self.children.iter().filter_map(|n| match n {
            Node::Text(t) => Some(t.as_str()),
            Node::Element(_) => None,
        });
        let Some(first) = texts.next() else {
            return Cow::Borrowed("");
        };
        match texts.next() {
            None => Cow::Borrowed(first),
            Some(second) => {
                let mut s = String::from(first);
                s.push_str(second);
                texts.for_each(|t| s.push_str(t));
                Cow::Owned(s)
            }
        }
    }
}

/// Returns the 1-based line of byte `pos`, counting incrementally.
struct Lines<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
}

impl Lines<'_> {
    fn at(&mut self, pos: usize) -> u32 {
        let pos = pos.min(self.src.len());
        if pos > self.pos {
            self.line += self.src[self.pos..pos]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u32;
            self.pos = pos;
        }
        self.line
    }
}

/// Normalises line ends in text (XML §2.11).
fn norm_eol(s: &str) -> Cow<'_, str> {
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
fn unescape_attr(raw: &str, line: u32) -> Result<String, IodefError> {
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
            .ok_or_else(|| IodefError::xml(line, "unterminated reference"))?;
        let name = &rest[i + 1..i + end];
        out.push(resolve_ref(name, line)?);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve_ref(name: &str, line: u32) -> Result<char, IodefError> {
    if let Some(c) = predefined(name) {
        return Ok(c);
    }
    let num = name.strip_prefix('#').ok_or_else(|| IodefError::Entity {
        line,
        name: name.to_string(),
    })?;
    let code = match num.strip_prefix('x') {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => num.parse::<u32>().ok(),
    };
    code.and_then(char::from_u32)
        .filter(|c| !matches!(*c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}'))
        .ok_or_else(|| IodefError::xml(line, format!("invalid character reference &{name};")))
}

fn ns_of(r: &ResolveResult<'_>, line: u32, what: &str) -> Result<Cow<'static, str>, IodefError> {
    match r {
        ResolveResult::Unbound => Ok(Cow::Borrowed("")),
        ResolveResult::Bound(ns) => Ok(intern(ns.as_ref())),
        ResolveResult::Unknown(p) => Err(IodefError::xml(
            line,
            format!(
                "undeclared namespace prefix {:?} on {what}",
                String::from_utf8_lossy(p)
            ),
        )),
    }
}

/// Parses XML text into the root element. Enforces the limits described in the module docs.
pub(crate) fn parse_xml(src: &str) -> Result<Element, IodefError> {
    let mut reader = NsReader::from_str(src);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let mut lines = Lines {
        src: src.as_bytes(),
        pos: 0,
        line: 1,
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut ignorable: Vec<bool> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let start = reader.buffer_position() as usize;
        let line = lines.at(start);
        let (res, ev) = match reader.read_resolved_event() {
            Ok(x) => x,
            Err(e) => {
                let msg = e.to_string();
                return Err(IodefError::xml(
                    lines.at(reader.error_position() as usize),
                    msg,
                ));
            }
        };
        match ev {
            Event::Start(ref s) | Event::Empty(ref s) => {
                if root.is_some() {
                    return Err(IodefError::xml(line, "content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(IodefError::TooDeep {
                        line,
                        max: MAX_DEPTH,
                    });
                }
                let local = s.local_name();
                let local = match in_src(src, local.as_ref()) {
                    Some(n) => Cow::Borrowed(n),
                    None => utf8(local.as_ref()),
                };
                // One lookup gives both the shared name and whether blank text inside is ignorable.
                let known = super::schema::known_name(&local);
                let name = match known {
                    Some(k) => Cow::Borrowed(k.name),
                    None => Cow::Owned(local.into_owned()),
                };
                let mut el = Element {
                    ns: ns_of(&res, line, &name)?,
                    prefix: s.name().prefix().map(|p| intern(p.as_ref())),
                    name,
                    line,
                    ..Default::default()
                };
                // quick-xml's duplicate check keeps a Vec per element (an allocation per element in
                // the profile); the check on resolved names below is stricter and covers every
                // attribute but namespace declarations, which get quick-xml's check after the loop.
                let mut xmlns_decls = 0;
                for a in s.attributes().with_checks(false) {
                    let a = a.map_err(|e| IodefError::xml(line, e.to_string()))?;
                    let key = a.key.as_ref();
                    if key == b"xmlns" || key.starts_with(b"xmlns:") {
                        xmlns_decls += 1;
                        continue;
                    }
                    let (r, local) = reader.resolve_attribute(a.key);
                    let local = match in_src(src, local.as_ref()) {
                        Some(n) => name_of(n),
                        None => name_of(&utf8(local.as_ref())),
                    };
                    let ns = ns_of(&r, line, &local)?;
                    let raw = text_in(src, &a.value, line, "attribute value")?;
                    let value = unescape_attr(raw, line)?;
                    if el.attrs.iter().any(|x| x.ns == ns && x.name == local) {
                        return Err(IodefError::xml(
                            line,
                            format!("duplicate attribute {local}"),
                        ));
                    }
                    el.attrs.push(Attribute {
                        ns,
                        prefix: a.key.prefix().map(|p| intern(p.as_ref())),
                        name: local,
                        value,
                    });
                }
                if xmlns_decls > 1 {
                    for a in s.attributes() {
                        a.map_err(|e| IodefError::xml(line, e.to_string()))?;
                    }
                }
                if matches!(ev, Event::Empty(_)) {
                    close(el, &mut stack, &mut root);
                } else {
                    ignorable.push(el.ns == NS_IODEF && known.is_some_and(|k| k.iodef_ignorable));
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| IodefError::xml(line, "unexpected end tag"))?;
                ignorable.pop();
                close(el, &mut stack, &mut root);
            }
            // Whitespace between the children of element-only content is not information: dropped.
            Event::Text(t)
                if ignorable.last() == Some(&true) && t.iter().all(|b| b.is_ascii_whitespace()) => {
            }
            Event::Text(t) => {
                let s = text_in(src, t.as_ref(), line, "text")?;
                push_text(&mut stack, norm_eol(s), line)?;
            }
            Event::CData(t) => {
                let s = text_in(src, t.as_ref(), line, "CDATA")?;
                push_text(&mut stack, norm_eol(s), line)?;
            }
            Event::GeneralRef(r) => {
                let name = std::str::from_utf8(r.as_ref())
                    .map_err(|_| IodefError::xml(line, "reference is not UTF-8"))?;
                let c = resolve_ref(name, line)?;
                push_text(&mut stack, Cow::Borrowed(c.encode_utf8(&mut [0; 4])), line)?;
            }
            Event::DocType(_) => return Err(IodefError::Doctype { line }),
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    if !enc.eq_ignore_ascii_case(b"utf-8") {
                        return Err(IodefError::Encoding(
                            String::from_utf8_lossy(&enc).into_owned(),
                        ));
                    }
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(IodefError::xml(
            open.line,
            format!("element <{}> is not closed", open.name),
        ));
    }
    root.ok_or_else(|| IodefError::xml(1, "no root element"))
}

fn push_text(stack: &mut [Element], s: Cow<'_, str>, line: u32) -> Result<(), IodefError> {
    match stack.last_mut() {
        Some(el) => {
            if let Some(Node::Text(t)) = el.children.last_mut() {
                t.push_str(&s);
            } else {
                el.children.push(Node::Text(s.into_owned()));
            }
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(IodefError::xml(line, "text outside the root element")),
    }
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(el)),
        None => *root = Some(el),
    }
}

/// Parses an XML fragment (content of an element) back into nodes.
pub(crate) fn parse_fragment(s: &str) -> Result<Vec<Node>, IodefError> {
    let wrapped = format!("<gridlink-fragment>{s}</gridlink-fragment>");
    let el = parse_xml(&wrapped)?;
    Ok(el.children)
}
