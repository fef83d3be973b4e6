//! The document tree as one arena: every element and text node is a [`NodeData`] in one `Vec`
//! (linked first-child / next-sibling), every attribute an [`AttrData`] in one shared `Vec` (an
//! element's attributes are a contiguous range), and every string either `&'static` (schema names,
//! known namespaces) or a span of the document's text buffer. The buffer starts as a copy of the XML
//! input, so names, attribute values and text that needed no unescaping or line-end normalisation
//! are spans of the source; everything else (and everything built from JSON) is appended after it.
//! Building a tree is therefore a handful of `Vec` pushes per node and no allocation per node.
//!
//! The views of it (`Element`, `Node`, `Attribute`) are in `view.rs`; `builder.rs` makes a tree
//! element by element (the XML reader, `xml/`, fills the arena directly).

use std::num::NonZeroU32;

use crate::iodef::schema::{
    decl_of, name_table, statics, KNOWN, KNOWN_EMPTY, KNOWN_IODEF, KNOWN_NS_XML, KNOWN_XML,
};

/// "No node" in the links.
pub(crate) const NONE: u32 = u32::MAX;

/// [`NodeData::decl`] of a text node (never a declaration index: the table has a few hundred).
pub(crate) const TEXT: u32 = u32::MAX - 1;

/// [`Str::tag`] of a static string.
const STATIC: u32 = 1 << 31;

/// A string of a tree in eight bytes: shared with the schema table / known namespaces (an index
/// into the static strings, `schema::statics`), or a span of its buffer. Half the size of a
/// `&'static str` / span enum, which made the node records that validation and the JSON writer
/// read back 88 bytes (their main source of D1 cache misses); the tag is never zero, so
/// `Option<Str>` is eight bytes too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Str {
    /// Start of the span in the buffer, or the index of a static string.
    off: u32,
    /// [`STATIC`] for a static string, else the span's length + 1.
    tag: NonZeroU32,
}

impl Str {
    /// The static string at `i` of `schema::statics`.
    pub(crate) const fn known(i: u32) -> Str {
        Str {
            off: i,
            tag: match NonZeroU32::new(STATIC) {
                Some(t) => t,
                None => NonZeroU32::MIN,
            },
        }
    }

    /// The empty string (static).
    pub(crate) const EMPTY: Str = Str::known(KNOWN_EMPTY);
    /// The IODEF namespace URI (static).
    pub(crate) const NS_IODEF: Str = Str::known(KNOWN_IODEF);
    /// The xml namespace URI (static).
    pub(crate) const NS_XML: Str = Str::known(KNOWN_NS_XML);
    /// The `xml` prefix (static).
    pub(crate) const XML: Str = Str::known(KNOWN_XML);

    /// The buffer span `start..start + len`; `None` when it does not fit the encoding.
    #[inline]
    pub(crate) fn span(start: usize, len: usize) -> Option<Str> {
        let off = u32::try_from(start).ok()?;
        let len = u32::try_from(len).ok().filter(|l| *l < STATIC - 1)?;
        off.checked_add(len)?;
        Some(Str {
            off,
            tag: NonZeroU32::new(len + 1)?,
        })
    }

    /// The index of a static string, `None` for a buffer span.
    #[cfg(test)]
    pub(crate) fn static_index(self) -> Option<u32> {
        (self.tag.get() & STATIC != 0).then_some(self.off)
    }

    /// `(start, len)` of a buffer span, `None` for a static string.
    #[inline]
    pub(crate) fn as_span(self) -> Option<(u32, u32)> {
        let t = self.tag.get();
        (t & STATIC == 0).then_some((self.off, t - 1))
    }
}

/// One element or text node.
#[derive(Clone, Debug)]
pub(crate) struct NodeData {
    /// [`TEXT`] for a text node (`name` is its text); for an element the declaration it is an
    /// element of (`schema::decl_of` of its namespace and name, `schema::NO_DECL` for none), found
    /// once when the node is made: validation and the JSON writer ask it of every child, and the
    /// lookup by name showed in their profiles. Nodes never change name or namespace.
    pub decl: u32,
    pub name: Str,
    pub ns: Str,
    pub prefix: Option<Str>,
    /// `attrs[attr_start..attr_start + attr_len]`.
    pub attr_start: u32,
    pub attr_len: u32,
    pub first_child: u32,
    pub last_child: u32,
    pub next: u32,
    pub parent: u32,
    /// Where the start tag was: in parsed trees (`Tree::src_len > 0`) its byte offset in the
    /// source, turned into a line only when asked for; in built trees the 1-based source line it
    /// was copied with, or 0 (built from JSON).
    pub line: u32,
}

/// One attribute.
#[derive(Clone, Debug)]
pub(crate) struct AttrData {
    pub ns: Str,
    pub name: Str,
    pub prefix: Option<Str>,
    pub value: Str,
}

/// The arena. Node 0 is the root element.
#[derive(Clone, Debug)]
pub(crate) struct Tree {
    pub buf: String,
    pub nodes: Vec<NodeData>,
    pub attrs: Vec<AttrData>,
    /// Length of the source at the start of `buf` (0 for trees built from JSON or copies), which
    /// also says that nodes' `line`s are byte offsets into it.
    pub src_len: u32,
    /// Offsets of the source's newlines, found on the first request for a line.
    newlines: std::sync::OnceLock<Vec<u32>>,
    /// The static strings (`schema::statics`), fetched once per tree instead of once per string.
    statics: &'static [&'static str],
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            buf: String::new(),
            nodes: Vec::new(),
            attrs: Vec::new(),
            src_len: 0,
            newlines: std::sync::OnceLock::new(),
            statics: statics(),
        }
    }
}

/// `s` as a static string when it is a known namespace, prefix or schema name.
pub(crate) fn known_static(s: &str) -> Option<Str> {
    if let Some(i) = KNOWN.iter().position(|k| *k == s) {
        return Some(Str::known(i as u32));
    }
    name_table().get(s.as_bytes()).map(|k| Str::known(k.name))
}

impl Tree {
    /// The text of `s`.
    #[inline]
    pub fn str(&self, s: Str) -> &str {
        let t = s.tag.get();
        if t & STATIC != 0 {
            self.statics.get(s.off as usize).copied().unwrap_or("")
        } else {
            let start = s.off as usize;
            self.buf.get(start..start + (t - 1) as usize).unwrap_or("")
        }
    }

    /// Appends `s` to the buffer. `None` when the buffer would outgrow 32-bit spans.
    pub fn push_str(&mut self, s: &str) -> Option<Str> {
        let span = Str::span(self.buf.len(), s.len())?;
        self.buf.push_str(s);
        Some(span)
    }

    /// `s`, shared when known, else appended to the buffer.
    pub fn intern(&mut self, s: &str) -> Option<Str> {
        match known_static(s) {
            Some(k) => Some(k),
            None => self.push_str(s),
        }
    }

    /// Appends `child` to `parent`'s children.
    #[inline]
    pub fn link(&mut self, parent: u32, child: u32) {
        self.nodes[child as usize].parent = parent;
        let p = &mut self.nodes[parent as usize];
        let last = p.last_child;
        p.last_child = child;
        if last == NONE {
            p.first_child = child;
        } else {
            self.nodes[last as usize].next = child;
        }
    }

    /// Makes the text node `last` end at the buffer's end (copying its text there if it does not),
    /// so that text can be appended to it in place; returns its span.
    fn text_at_end(&mut self, last: u32) -> Option<(u32, u32)> {
        let prev = self.nodes[last as usize].name;
        match prev.as_span() {
            Some((s, l)) if s as usize + l as usize == self.buf.len() => Some((s, l)),
            _ => {
                let owned = self.str(prev).to_string();
                self.push_str(&owned)?.as_span()
            }
        }
    }

    /// The text node ending `parent`'s children, if its last child is one.
    #[inline]
    pub(crate) fn last_text(&self, parent: u32) -> Option<u32> {
        let last = self.nodes[parent as usize].last_child;
        (last != NONE && self.nodes[last as usize].decl == TEXT).then_some(last)
    }

    /// Appends the text `span` (usually a span of the source) to `parent`'s children, merged with a
    /// text node that ends them. Merging appends in place at the buffer's end, so a long run of
    /// pieces costs linear time.
    #[inline]
    pub fn add_text(&mut self, parent: u32, span: Str) -> Option<()> {
        let last = self.nodes.get(parent as usize)?.last_child;
        if last != NONE && self.nodes.get(last as usize)?.decl == TEXT {
            return self.merge_text(last, span);
        }
        // A new last child, written whole and linked here (through `new_node` and `link` it was
        // ~70 instructions a text node).
        let id = u32::try_from(self.nodes.len())
            .ok()
            .filter(|i| *i != NONE)?;
        self.nodes.push(NodeData {
            decl: TEXT,
            name: span,
            ns: Str::EMPTY,
            prefix: None,
            // Text has no attributes (an empty range, as `new_node` gives).
            attr_start: 0,
            attr_len: 0,
            first_child: NONE,
            last_child: NONE,
            next: NONE,
            parent,
            line: 0,
        });
        if last != NONE {
            self.nodes.get_mut(last as usize)?.next = id;
        }
        let p = self.nodes.get_mut(parent as usize)?;
        p.last_child = id;
        if last == NONE {
            p.first_child = id;
        }
        Some(())
    }

    /// [`Tree::add_text`] when `parent`'s children end with the text node `last`.
    #[cold]
    fn merge_text(&mut self, last: u32, span: Str) -> Option<()> {
        let (s, l) = self.text_at_end(last)?;
        let piece = self.str(span).to_string();
        let (_, add) = self.push_str(&piece)?.as_span()?;
        self.nodes[last as usize].name = Str::span(s as usize, l.checked_add(add)? as usize)?;
        Some(())
    }

    /// Appends new text (not in the buffer yet) to `parent`'s children, merged like [`Tree::add_text`].
    pub fn append_text(&mut self, parent: u32, text: &str) -> Option<()> {
        match self.last_text(parent) {
            None => {
                let span = self.push_str(text)?;
                let id = self.new_node(TEXT, span, Str::EMPTY, None, 0)?;
                self.link(parent, id);
            }
            Some(last) => {
                let (s, l) = self.text_at_end(last)?;
                let (_, add) = self.push_str(text)?.as_span()?;
                self.nodes[last as usize].name =
                    Str::span(s as usize, l.checked_add(add)? as usize)?;
            }
        }
        Some(())
    }

    /// A new unlinked node: a text node for `decl` [`TEXT`], else an element of that declaration
    /// (see [`NodeData::decl`]; `Tree::decl_of` finds it).
    #[inline]
    pub fn new_node(
        &mut self,
        decl: u32,
        name: Str,
        ns: Str,
        prefix: Option<Str>,
        line: u32,
    ) -> Option<u32> {
        // No attributes: they start (and end) at the end of the table.
        let attr_start = u32::try_from(self.attrs.len()).ok()?;
        self.new_element(decl, name, ns, prefix, attr_start, line)
    }

    /// A new unlinked element of declaration `decl` (see [`NodeData::decl`]) whose attributes are
    /// `attrs[attr_start..]` (the reader pushes them first, so the record is written once).
    #[inline]
    pub fn new_element(
        &mut self,
        decl: u32,
        name: Str,
        ns: Str,
        prefix: Option<Str>,
        attr_start: u32,
        line: u32,
    ) -> Option<u32> {
        let id = u32::try_from(self.nodes.len())
            .ok()
            .filter(|i| *i != NONE)?;
        let attr_len = u32::try_from(self.attrs.len())
            .ok()?
            .checked_sub(attr_start)?;
        self.nodes.push(NodeData {
            decl,
            name,
            ns,
            prefix,
            attr_start,
            attr_len,
            first_child: NONE,
            last_child: NONE,
            next: NONE,
            parent: NONE,
            line,
        });
        Some(id)
    }

    /// The declaration of an element with namespace `ns` and name `name` of this tree (see
    /// [`NodeData::decl`]).
    pub fn decl_of(&self, ns: Str, name: Str) -> u32 {
        decl_of(self.str(ns), self.str(name))
    }

    /// Whether `a` and `b` have the same text (one integer compare for the same table string).
    #[inline]
    pub fn str_eq(&self, a: Str, b: Str) -> bool {
        a == b || self.str(a) == self.str(b)
    }

    /// Adds an attribute to `el`, moving its earlier attributes to the end of the shared list first
    /// when another element's attributes were added since (attributes of one element stay contiguous).
    pub fn add_attr(&mut self, el: u32, a: AttrData) -> Option<()> {
        let n = &self.nodes[el as usize];
        let (start, len) = (n.attr_start as usize, n.attr_len as usize);
        if start + len != self.attrs.len() {
            let moved: Vec<AttrData> = self.attrs[start..start + len].to_vec();
            let new_start = u32::try_from(self.attrs.len()).ok()?;
            self.attrs.extend(moved);
            self.nodes[el as usize].attr_start = new_start;
        }
        self.attrs.push(a);
        self.nodes[el as usize].attr_len += 1;
        Some(())
    }

    /// The 1-based line of a node's `line` field (see [`NodeData::line`]).
    pub fn line(&self, v: u32) -> u32 {
        if self.src_len == 0 {
            return v;
        }
        let nl = self.newlines.get_or_init(|| {
            let src = self
                .buf
                .as_bytes()
                .get(..self.src_len as usize)
                .unwrap_or(&[]);
            memchr::memchr_iter(b'\n', src).map(|i| i as u32).collect()
        });
        1 + nl.partition_point(|o| *o < v) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::{AttrData, NodeData, Str};

    /// The records validation and the JSON writer read back stay small (they were 88 and 64 bytes
    /// with a 16-byte string handle).
    #[test]
    fn records_are_small() {
        assert_eq!(std::mem::size_of::<Str>(), 8);
        assert_eq!(std::mem::size_of::<Option<Str>>(), 8);
        assert!(std::mem::size_of::<NodeData>() <= 56);
        assert_eq!(std::mem::size_of::<AttrData>(), 32);
    }

    /// Spans keep their offset and length; static strings are not spans.
    #[test]
    fn str_encodings() {
        for (start, len) in [(0, 0), (1, 0), (0, 5), (7, 1 << 20)] {
            let s = Str::span(start, len).map(Str::as_span);
            assert_eq!(s, Some(Some((start as u32, len as u32))));
        }
        assert_eq!(Str::span(0, (1 << 31) - 1), None);
        assert_eq!(Str::EMPTY.as_span(), None);
        assert_eq!(Str::EMPTY.static_index(), Some(11));
        let t = super::Tree::default();
        assert_eq!(t.str(Str::EMPTY), "");
        assert_eq!(t.str(Str::XML), "xml");
        assert_eq!(t.str(Str::NS_XML), crate::iodef::schema::NS_XML);
        assert_eq!(t.str(Str::NS_IODEF), crate::iodef::NS_IODEF);
    }
}
