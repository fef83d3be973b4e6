//! The XML reader's state (`Parser`) and its work per start tag and per text event: the namespace
//! bindings in scope (a small prefix → URI stack that only elements carrying `xmlns` attributes
//! touch; quick-xml's `NsReader` re-scanned every element's attributes for declarations), the open
//! elements, and each element, attribute and text written into the document arena. The event loop
//! that drives it is `read.rs`; the byte-level pieces are `scan.rs`.

use std::borrow::Cow;

use quick_xml::events::BytesStart;

use super::limits::{MAX_DEPTH, MAX_INPUT_BYTES};
use super::scan::{
    all_whitespace, in_src, needs_unescape, qname_ok, scan_attrs, split_qname, unescape_attr,
};
use crate::iodef::arena::{known_static, AttrData, Str, Tree};
use crate::iodef::bytes::word;
use crate::iodef::error::IodefError;
use crate::iodef::schema::{KnownName, NameTable, NO_DECL, NS_XML};

/// `bytes` (a slice quick-xml took from `src`) as a span of the source; `what` names it in the error.
pub(super) fn span_in<'s>(
    src: &'s str,
    bytes: &[u8],
    at: u32,
    what: &str,
) -> Result<(Str, &'s str), IodefError> {
    let (start, s) =
        in_src(src, bytes).ok_or_else(|| IodefError::xml(at, format!("{what} is not UTF-8")))?;
    // The input is at most MAX_INPUT_BYTES, far below u32::MAX.
    let span = Str::span(start, s.len()).ok_or_else(|| too_large(src))?;
    Ok((span, s))
}

/// A name that is not namespace-well-formed (`:a`, `a:`, `a:b:c`, `xmlns:`).
#[cold]
fn bad_qname(name: &[u8], at: u32) -> IodefError {
    IodefError::xml(
        at,
        format!(
            "{:?} is not a namespace-well-formed name (Namespaces in XML 1.0 §3)",
            String::from_utf8_lossy(name)
        ),
    )
}

pub(super) fn too_large(src: &str) -> IodefError {
    IodefError::TooLarge {
        size: src.len(),
        max: MAX_INPUT_BYTES,
    }
}

/// The `xmlns` namespace (never declarable).
const NS_XMLNS: &str = "http://www.w3.org/2000/xmlns/";

/// One namespace binding in scope: prefix (empty for the default namespace) → URI ("" undeclares
/// the default namespace).
pub(super) struct Binding<'s> {
    prefix: &'s [u8],
    /// `bytes::word` of `prefix`: with equal lengths, equal words mean equal prefixes of up to eight
    /// bytes, so a lookup calls no `memcmp` (which showed in the profile).
    key: u64,
    uri: Str,
    /// `uri` is not empty (an empty one undeclares: the prefix cannot be used).
    bound: bool,
    /// The prefix as a string of the tree (a span of the declaration), recorded as the prefix of
    /// the elements and attributes that use it instead of a span of each one's own name.
    name: Str,
}

/// An open element of the reader.
pub(super) struct Open {
    pub(super) id: u32,
    /// Whitespace-only text directly inside is ignorable (IODEF element-only or empty content).
    pub(super) ignorable: bool,
    /// Length of the binding stack before this element's declarations.
    pub(super) bindings: usize,
    /// The default namespace in scope before this element's declarations.
    pub(super) default_ns: Str,
}

/// The reader's state besides quick-xml's.
pub(super) struct Parser<'s> {
    pub(super) src: &'s str,
    pub(super) tree: Tree,
    pub(super) stack: Vec<Open>,
    pub(super) bindings: Vec<Binding<'s>>,
    /// This element's attributes other than namespace declarations (raw name, raw value), reused.
    pub(super) scratch: Vec<(&'s [u8], &'s str)>,
    pub(super) root_done: bool,
    /// The default namespace in scope, kept here instead of looked up on `bindings` for every
    /// unprefixed element (which showed in the profile).
    pub(super) default_ns: Str,
    /// The schema's name table, fetched once per document instead of once per name.
    pub(super) names: &'static NameTable,
    /// The source has a `\r` somewhere: only then can text need line-end normalisation (one
    /// search of the whole input instead of one per text node, which showed in the profile).
    pub(super) any_cr: bool,
}

impl<'s> Parser<'s> {
    /// The binding in scope for `prefix`, if any (never `xml`, which `declare` does not record).
    #[inline]
    fn binding(&self, prefix: &[u8]) -> Option<&Binding<'s>> {
        let key = word(prefix);
        self.bindings.iter().rev().find(|b| {
            b.prefix.len() == prefix.len()
                && b.key == key
                && (prefix.len() <= 8 || b.prefix == prefix)
        })
    }

    /// Namespace and prefix string of a prefixed name (`name` is its local name, for the error);
    /// an error when the prefix is undeclared.
    #[inline(always)]
    fn resolve(&self, prefix: &[u8], at: u32, name: Str) -> Result<(Str, Str), IodefError> {
        match self.binding(prefix) {
            Some(b) if b.bound => Ok((b.uri, b.name)),
            None if prefix == b"xml" => Ok((Str::NS_XML, Str::XML)),
            _ => Err(self.undeclared(prefix, at, name)),
        }
    }

    #[cold]
    fn undeclared(&self, prefix: &[u8], at: u32, name: Str) -> IodefError {
        IodefError::xml(
            at,
            format!(
                "undeclared namespace prefix {:?} on {}",
                String::from_utf8_lossy(prefix),
                self.tree.str(name)
            ),
        )
    }

    /// A local name: shared with the schema table when it is one of its names (nearly always in
    /// IODEF), else a span of the source.
    #[inline(always)]
    fn name(&self, local: &[u8], at: u32) -> Result<(Str, Option<KnownName>), IodefError> {
        // Bytes equal to a table name are valid UTF-8 on their own, so they cannot start or end
        // inside a character of the source: the span check below could not fail for them, and the
        // lookup comes first.
        match self.names.get(local) {
            Some(k) => Ok((Str::known(k.name), Some(k))),
            None => Ok((span_in(self.src, local, at, "name")?.0, None)),
        }
    }

    /// The span of an attribute value, a `str` slice of the source (so no character-boundary
    /// check is needed, only the offset).
    #[inline]
    fn value_span(&self, v: &str, at: u32) -> Result<Str, IodefError> {
        let start = (v.as_ptr() as usize).wrapping_sub(self.src.as_ptr() as usize);
        if start > self.src.len() || v.len() > self.src.len() - start {
            return Ok(span_in(self.src, v.as_bytes(), at, "attribute value")?.0);
        }
        Str::span(start, v.len()).ok_or_else(|| too_large(self.src))
    }

    /// A namespace declaration (`xmlns` / `xmlns:p`) on the element being read.
    fn declare(
        &mut self,
        prefix: &'s [u8],
        raw: &[u8],
        at: u32,
        from: usize,
    ) -> Result<(), IodefError> {
        let (span, value) = span_in(self.src, raw, at, "namespace")?;
        let uri: Cow<'_, str> = if value.contains(['&', '\t', '\n', '\r']) {
            Cow::Owned(unescape_attr(value, at)?)
        } else {
            Cow::Borrowed(value)
        };
        let bad = |m: String| Err(IodefError::xml(at, m));
        match prefix {
            // A prefix is an NCName, so it has no ':'.
            _ if prefix.contains(&b':') => {
                return bad(format!(
                    "namespace prefix {:?} is not an NCName",
                    String::from_utf8_lossy(prefix)
                ))
            }
            b"xml" if uri != NS_XML => {
                return bad(format!("the xml prefix cannot be bound to {uri:?}"))
            }
            b"xml" => return Ok(()),
            b"xmlns" => return bad("the xmlns prefix cannot be declared".into()),
            _ if !prefix.is_empty() && (uri == NS_XML || uri == NS_XMLNS) => {
                return bad(format!("prefix bound to the reserved namespace {uri:?}"))
            }
            _ => {}
        }
        let key = word(prefix);
        if self.bindings[from..]
            .iter()
            .any(|b| b.key == key && b.prefix == prefix)
        {
            return bad(format!(
                "duplicate attribute {}",
                if prefix.is_empty() {
                    "xmlns".to_string()
                } else {
                    format!("xmlns:{}", String::from_utf8_lossy(prefix))
                }
            ));
        }
        let uri = match known_static(&uri) {
            Some(k) => k,
            None if matches!(uri, Cow::Borrowed(_)) => span,
            None => self
                .tree
                .push_str(&uri)
                .ok_or_else(|| too_large(self.src))?,
        };
        let name = if prefix.is_empty() {
            self.default_ns = uri;
            Str::EMPTY
        } else {
            span_in(self.src, prefix, at, "prefix")?.0
        };
        let bound = !self.tree.str(uri).is_empty();
        self.bindings.push(Binding {
            prefix,
            key,
            uri,
            bound,
            name,
        });
        Ok(())
    }

    /// The attributes of a start tag through quick-xml's iterator, with its errors: what
    /// [`scan_attrs`] does not accept. Namespace declarations are taken, the rest go to `scratch`.
    fn slow_attrs(&mut self, s: &BytesStart<'s>, at: u32, from: usize) -> Result<(), IodefError> {
        for a in s.attributes().with_checks(false) {
            let a = a.map_err(|e| IodefError::xml(at, e.to_string()))?;
            // Names and values are slices of the source (reading a `&str`, quick-xml never copies).
            let (Some((_, key)), Some((_, value))) = (
                in_src(self.src, a.key.as_ref()),
                in_src(self.src, a.value.as_ref()),
            ) else {
                return Err(IodefError::xml(at, "attribute is not UTF-8"));
            };
            let key = key.as_bytes();
            // XML 1.0 §3.1: whitespace before every attribute (quick-xml reads `a="1"b="2"`).
            let before = (key.as_ptr() as usize).wrapping_sub(self.src.as_ptr() as usize);
            let sep = before
                .checked_sub(1)
                .and_then(|i| self.src.as_bytes().get(i))
                .is_some_and(|c| matches!(c, b' ' | b'\r' | b'\n' | b'\t'));
            if !sep {
                let m = format!(
                    "no whitespace before attribute {}",
                    String::from_utf8_lossy(key)
                );
                return Err(IodefError::xml(at, m));
            }
            if key == b"xmlns" {
                let value = value.as_bytes();
                self.declare(b"", value, at, from)?;
            } else if let Some(p) = key.strip_prefix(b"xmlns:") {
                // `xmlns:=""` would otherwise declare the default namespace.
                if p.is_empty() {
                    return Err(bad_qname(key, at));
                }
                self.declare(p, value.as_bytes(), at, from)?;
            } else {
                self.scratch.push((key, value));
            }
        }
        Ok(())
    }

    /// A start (or empty-element) tag: the element with its attributes, linked to its parent.
    pub(super) fn start(
        &mut self,
        s: &BytesStart<'s>,
        at: u32,
        empty: bool,
    ) -> Result<(), IodefError> {
        if self.root_done {
            return Err(IodefError::xml(at, "content after the root element"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(IodefError::TooDeep {
                line: at,
                max: MAX_DEPTH,
            });
        }
        let from = self.bindings.len();
        let outer_default = self.default_ns;
        self.scratch.clear();
        let raw = s.attributes_raw();
        // Our own scan of the attributes (quick-xml's iterator showed in the profile); on anything
        // it does not accept, quick-xml's iterator reads them again and gives its own error. Both
        // split the tag the same way, so namespace declarations are then taken in the same order.
        if raw.is_empty() {
            // No attributes (most elements): nothing to scan.
        } else if scan_attrs(self.src, raw, &mut self.scratch) {
            let mut keep = 0;
            for i in 0..self.scratch.len() {
                let (key, value) = self.scratch[i];
                if key == b"xmlns" {
                    self.declare(b"", value.as_bytes(), at, from)?;
                } else if let Some(p) = key.strip_prefix(b"xmlns:") {
                    if p.is_empty() {
                        return Err(bad_qname(key, at));
                    }
                    self.declare(p, value.as_bytes(), at, from)?;
                } else {
                    self.scratch[keep] = (key, value);
                    keep += 1;
                }
            }
            self.scratch.truncate(keep);
        } else {
            self.scratch.clear();
            self.slow_attrs(s, at, from)?;
        }
        // Prefix and local name split at the first ':' found once (`QName::prefix` and
        // `QName::local_name` each search for it, which showed in the profile).
        let qname = s.name().into_inner();
        let (local, eprefix) = split_qname(qname);
        if !qname_ok(local, eprefix) {
            return Err(bad_qname(qname, at));
        }
        let (name, known) = self.name(local, at)?;
        let (ns, prefix) = match eprefix {
            None => (self.default_ns, None),
            Some(p) => {
                let (ns, pname) = self.resolve(p, at, name)?;
                (ns, Some(pname))
            }
        };
        // The declaration the validator and the JSON writer will ask for (`schema::decl_of`, which
        // the name table answers for the name).
        let decl = match known {
            Some(k) if k.decl != NO_DECL => {
                // `decl_ns` is the string the reader records for that namespace, so this is
                // usually one integer compare.
                let in_ns = self.tree.str_eq(ns, Str::known(k.decl_ns));
                if in_ns {
                    k.decl
                } else {
                    NO_DECL
                }
            }
            _ => NO_DECL,
        };
        // The attributes go first, so that the element's record is written once, whole.
        let first_attr = self.tree.attrs.len();
        for i in 0..self.scratch.len() {
            let (key, v) = self.scratch[i];
            let (local, aprefix) = split_qname(key);
            if !qname_ok(local, aprefix) {
                return Err(bad_qname(key, at));
            }
            let (aname, _) = self.name(local, at)?;
            let (ans, aprefix) = match aprefix {
                None => (Str::EMPTY, None),
                Some(p) => {
                    let (ans, pname) = self.resolve(p, at, aname)?;
                    (ans, Some(pname))
                }
            };
            let value = if needs_unescape(v.as_bytes()) {
                let u = unescape_attr(v, at)?;
                self.tree.push_str(&u).ok_or_else(|| too_large(self.src))?
            } else {
                self.value_span(v, at)?
            };
            // Table names compare by pointer (`Tree::str_eq`); the first attribute has nothing to
            // compare with.
            let t = &self.tree;
            if t.attrs.len() > first_attr
                && t.attrs[first_attr..]
                    .iter()
                    .any(|x| t.str_eq(x.name, aname) && t.str_eq(x.ns, ans))
            {
                let m = format!("duplicate attribute {}", t.str(aname));
                return Err(IodefError::xml(at, m));
            }
            self.tree.attrs.push(AttrData {
                ns: ans,
                name: aname,
                prefix: aprefix,
                value,
            });
        }
        let attr_start = u32::try_from(first_attr).map_err(|_| too_large(self.src))?;
        let id = self
            .tree
            .new_element(decl, name, ns, prefix, attr_start, at)
            .ok_or_else(|| too_large(self.src))?;
        match self.stack.last() {
            Some(parent) => {
                let p = parent.id;
                self.tree.link(p, id);
            }
            None => self.root_done = empty,
        }
        if empty {
            self.bindings.truncate(from);
            self.default_ns = outer_default;
        } else {
            let ignorable =
                known.is_some_and(|k| k.iodef_ignorable) && self.tree.str_eq(ns, Str::NS_IODEF);
            self.stack.push(Open {
                id,
                ignorable,
                bindings: from,
                default_ns: outer_default,
            });
        }
        Ok(())
    }

    /// Whether the piece of text `t` is whitespace between the children of element-only content,
    /// which is not information and is dropped. The same piece continuing text already there (after
    /// a reference or CDATA, as in `x&gt;\n  <b/>`) is part of that text and is kept: the text
    /// reads the same however its source split it into pieces (written back, it is one piece —
    /// fuzz finding rid_message-5). Whitespace from CDATA or a character reference counts as
    /// whitespace too, for the same reason.
    #[inline]
    pub(super) fn between_children(&self, t: &[u8]) -> bool {
        self.stack.last().is_some_and(|o| {
            o.ignorable && all_whitespace(t) && self.tree.last_text(o.id).is_none()
        })
    }

    /// Text (already a span of the source, or new text) for the open element.
    #[inline]
    pub(super) fn text(
        &mut self,
        span: Option<Str>,
        text: &str,
        at: u32,
    ) -> Result<(), IodefError> {
        let Some(open) = self.stack.last() else {
            if text.trim().is_empty() {
                return Ok(());
            }
            return Err(IodefError::xml(at, "text outside the root element"));
        };
        let id = open.id;
        let r = match span {
            Some(s) => self.tree.add_text(id, s),
            None => self.tree.append_text(id, text),
        };
        r.ok_or_else(|| too_large(self.src))
    }
}
