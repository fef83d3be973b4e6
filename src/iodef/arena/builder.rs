//! [`Builder`]: makes a document arena (`store.rs`) element by element, for JSON → XML (`json/`),
//! [`Document::canonical`](crate::iodef::Document::canonical),
//! [`Document::from_root`](crate::iodef::Document::from_root) and callers that assemble or edit
//! documents. Its [`Builder::finish`] (which makes a `Document`) is beside `Document`'s other
//! constructors, so that this folder does not import the document above it.

use super::store::{AttrData, Str, Tree};
use super::view::{Element, Node};
use crate::iodef::error::IodefError;
use crate::iodef::schema::NS_XML;

/// Builds a document tree element by element (JSON → XML, [`Document::canonical`](crate::iodef::Document::canonical),
/// and callers that assemble or edit documents): `start`, `attr`/`text`/nested elements, `end`.
/// Adjacent text is merged and empty text dropped, as the XML reader does.
#[derive(Default)]
pub struct Builder {
    tree: Tree,
    open: Vec<u32>,
    closed_root: bool,
    /// The tree outgrew 32-bit offsets.
    overflow: bool,
    /// A second root, or an attribute or text outside any element.
    misuse: bool,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Self {
        Builder::default()
    }

    fn note(&mut self, r: Option<()>) {
        if r.is_none() {
            self.overflow = true;
        }
    }

    fn intern(&mut self, s: &str) -> Str {
        match self.tree.intern(s) {
            Some(s) => s,
            None => {
                self.overflow = true;
                Str::EMPTY
            }
        }
    }

    pub(crate) fn start_str(&mut self, ns: Str, name: Str, prefix: Option<Str>, line: u32) {
        let decl = self.tree.decl_of(ns, name);
        let Some(id) = self.tree.new_node(decl, name, ns, prefix, line) else {
            self.overflow = true;
            return;
        };
        match self.open.last() {
            Some(p) => {
                let p = *p;
                self.tree.link(p, id);
            }
            // A second root is dropped and reported by `finish`.
            None if self.closed_root || id != 0 => self.misuse = true,
            None => {}
        }
        self.open.push(id);
    }

    /// Opens an element (namespace URI, local name, source prefix).
    pub fn start(&mut self, ns: &str, name: &str, prefix: Option<&str>) {
        let ns = self.intern(ns);
        let name = self.intern(name);
        let prefix = prefix.map(|p| self.intern(p));
        self.start_str(ns, name, prefix, 0);
    }

    /// Opens an element with `&'static` names (no copy).
    pub(crate) fn start_static(
        &mut self,
        ns: &'static str,
        name: &'static str,
        prefix: Option<&'static str>,
    ) {
        // Schema names and known namespaces and prefixes are static strings of the tree.
        let ns = self.intern(ns);
        let name = self.intern(name);
        let prefix = prefix.map(|p| self.intern(p));
        self.start_str(ns, name, prefix, 0);
    }

    /// Adds an attribute to the open element: unqualified, or `xml:`-prefixed for the xml namespace.
    pub fn attr(&mut self, name: &str, value: &str) {
        match name.strip_prefix("xml:") {
            Some(l) => self.attr_ns(NS_XML, l, None, value),
            None => self.attr_ns("", name, None, value),
        }
    }

    /// Adds an attribute in namespace `ns` to the open element.
    pub fn attr_ns(&mut self, ns: &str, name: &str, prefix: Option<&str>, value: &str) {
        let a = AttrData {
            ns: self.intern(ns),
            name: self.intern(name),
            prefix: prefix.map(|p| self.intern(p)),
            value: match self.tree.push_str(value) {
                Some(v) => v,
                None => {
                    self.overflow = true;
                    return;
                }
            },
        };
        match self.open.last() {
            Some(el) => {
                let el = *el;
                let r = self.tree.add_attr(el, a);
                self.note(r);
            }
            None => self.misuse = true,
        }
    }

    /// Adds text to the open element (merged with text just before it; empty text is dropped).
    pub fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        let Some(el) = self.open.last().copied() else {
            self.misuse = true;
            return;
        };
        let r = self.tree.append_text(el, s);
        self.note(r);
    }

    /// Closes the open element.
    pub fn end(&mut self) {
        if self.open.pop().is_some() && self.open.is_empty() {
            self.closed_root = true;
        }
    }

    /// Copies `el` and its subtree (from any tree) as a child of the open element, or as the root;
    /// with `lines` false the copies carry no source lines.
    pub fn copy(&mut self, el: Element<'_>, lines: bool) {
        let line = if lines { el.line() } else { 0 };
        let ns = self.intern(el.ns());
        let name = self.intern(el.name());
        let prefix = el.prefix().map(|p| self.intern(p));
        self.start_str(ns, name, prefix, line);
        for a in el.attrs() {
            self.attr_ns(a.ns, a.name, a.prefix, a.value);
        }
        for c in el.children() {
            match c {
                Node::Element(k) => self.copy(k, lines),
                Node::Text(t) => self.text(t),
            }
        }
        self.end();
    }

    /// The finished tree; an error if it is not one whole element, or it outgrew 32-bit offsets.
    pub(crate) fn finish_tree(self) -> Result<Tree, IodefError> {
        if self.overflow {
            return Err(IodefError::TooLarge {
                size: self.tree.buf.len(),
                max: u32::MAX as usize,
            });
        }
        if self.misuse {
            return Err(IodefError::xml(
                0,
                "built tree has a second root element, or attributes or text outside any element",
            ));
        }
        if !self.open.is_empty() || self.tree.nodes.is_empty() {
            return Err(IodefError::xml(0, "unfinished element tree"));
        }
        Ok(self.tree)
    }
}
