//! The borrowed views of a tree — [`Element`], [`Node`], [`Attribute`] and the [`Children`]
//! iterator — which are what the rest of the crate and the public API read documents through;
//! the storage they look into is `store.rs`'s [`Tree`] (whose [`Tree::root`] is here, beside the
//! view it makes).

use std::borrow::Cow;
use std::fmt;

use super::store::{NodeData, Str, Tree, NONE, TEXT};
use crate::iodef::schema::{same, NS_IODEF, NS_XML};

impl Tree {
    /// The root element.
    pub fn root(&self) -> Element<'_> {
        Element { tree: self, id: 0 }
    }
}

/// An element of an IODEF document (or of extension content carried inside one): a borrowed view
/// of one node of the document's arena.
///
/// The model is generic and driven by the schema table: every RFC 7970 class is an element whose
/// local name is the class name, so extension content (`AdditionalData`, RFC 7203 SCI, xmldsig) is
/// carried through unchanged alongside the IODEF classes.
#[derive(Clone, Copy)]
pub struct Element<'d> {
    pub(super) tree: &'d Tree,
    pub(super) id: u32,
}

/// A child node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Node<'d> {
    /// A child element.
    Element(Element<'d>),
    /// Character data (already unescaped and line-end normalised; CDATA sections become text).
    Text(&'d str),
}

/// An XML attribute, namespace-resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute<'d> {
    /// Namespace URI ("" for unqualified attributes, the usual case in IODEF).
    pub ns: &'d str,
    /// Local name.
    pub name: &'d str,
    /// Prefix used in the source, kept for serialisation only.
    pub prefix: Option<&'d str>,
    /// Unescaped, normalised value.
    pub value: &'d str,
}

impl<'d> Element<'d> {
    #[inline]
    fn data(&self) -> &'d NodeData {
        &self.tree.nodes[self.id as usize]
    }

    /// The parent element (`None` for the root).
    pub fn parent(&self) -> Option<Element<'d>> {
        let p = self.data().parent;
        (p != NONE).then_some(Element {
            tree: self.tree,
            id: p,
        })
    }

    /// Whether `self` and `other` are the same node of the same tree.
    pub fn same_node(&self, other: &Element<'_>) -> bool {
        std::ptr::eq(self.tree, other.tree) && self.id == other.id
    }

    /// The declaration this element is an element of (`schema::decl_of` of its namespace and name,
    /// `schema::NO_DECL` for none), recorded when the tree was made.
    #[inline]
    pub(crate) fn decl(&self) -> u32 {
        self.data().decl
    }

    /// Namespace URI.
    #[inline]
    pub fn ns(&self) -> &'d str {
        self.tree.str(self.data().ns)
    }

    /// Whether the element is in a namespace other than IODEF's and not in none (what an `##other`
    /// wildcard takes): for the usual namespaces one compare of the string handles.
    #[inline]
    pub(crate) fn in_other_ns(&self) -> bool {
        let ns = self.data().ns;
        if ns == Str::NS_IODEF || ns == Str::EMPTY {
            return false;
        }
        let t = self.tree.str(ns);
        !same(t, NS_IODEF) && !t.is_empty()
    }

    /// Local name (the IODEF class name for IODEF elements).
    #[inline]
    pub fn name(&self) -> &'d str {
        self.tree.str(self.data().name)
    }

    /// Prefix used in the source, kept for serialisation only.
    pub fn prefix(&self) -> Option<&'d str> {
        self.data().prefix.map(|p| self.tree.str(p))
    }

    /// 1-based source line of the start tag (0 when built from JSON).
    pub fn line(&self) -> u32 {
        self.tree.line(self.data().line)
    }

    /// Attributes, in source order, without namespace declarations.
    pub fn attrs(&self) -> impl ExactSizeIterator<Item = Attribute<'d>> + 'd {
        let d = self.data();
        let tree = self.tree;
        let start = d.attr_start as usize;
        tree.attrs
            .get(start..start + d.attr_len as usize)
            .unwrap_or(&[])
            .iter()
            .map(move |a| Attribute {
                ns: tree.str(a.ns),
                name: tree.str(a.name),
                prefix: a.prefix.map(|p| tree.str(p)),
                value: tree.str(a.value),
            })
    }

    /// The attribute at `i` in source order (as `attrs().nth(i)`, without walking to it).
    pub(crate) fn attr_at(&self, i: usize) -> Option<Attribute<'d>> {
        let d = self.data();
        let tree = self.tree;
        let a = tree
            .attrs
            .get(d.attr_start as usize..)?
            .get(..d.attr_len as usize)?
            .get(i)?;
        Some(Attribute {
            ns: tree.str(a.ns),
            name: tree.str(a.name),
            prefix: a.prefix.map(|p| tree.str(p)),
            value: tree.str(a.value),
        })
    }

    /// Value of the unqualified attribute `name` (`xml:lang` for the xml namespace one).
    pub fn attr(&self, name: &str) -> Option<&'d str> {
        let (ns, local) = match name.strip_prefix("xml:") {
            Some(l) => (NS_XML, l),
            None => ("", name),
        };
        let d = self.data();
        let start = d.attr_start as usize;
        let tree = self.tree;
        tree.attrs
            .get(start..start + d.attr_len as usize)?
            .iter()
            .find(|a| same(tree.str(a.name), local) && same(tree.str(a.ns), ns))
            .map(|a| tree.str(a.value))
    }

    /// Children in document order.
    pub fn children(&self) -> Children<'d> {
        Children {
            tree: self.tree,
            next: self.data().first_child,
        }
    }

    /// Whether the element has no children at all.
    pub fn is_empty(&self) -> bool {
        self.data().first_child == NONE
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = Element<'d>> + 'd {
        self.children().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Child elements in the IODEF namespace called `name`.
    pub fn children_named<'a>(&self, name: &'a str) -> impl Iterator<Item = Element<'d>> + 'a
    where
        'd: 'a,
    {
        self.elements()
            .filter(move |e| e.name() == name && e.ns() == NS_IODEF)
    }

    /// First IODEF child called `name`.
    pub fn child(&self, name: &str) -> Option<Element<'d>> {
        self.elements()
            .find(|e| e.name() == name && e.ns() == NS_IODEF)
    }

    /// Concatenated text children.
    pub fn text(&self) -> String {
        self.text_cow().into_owned()
    }

    /// Concatenated text children, borrowed when there is at most one text child (the usual case:
    /// the parser merges adjacent text).
    pub(crate) fn text_cow(&self) -> Cow<'d, str> {
        let mut texts = self.children().filter_map(|n| match n {
            Node::Text(t) => Some(t),
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

/// Iterator over an element's children.
#[derive(Clone)]
pub struct Children<'d> {
    tree: &'d Tree,
    next: u32,
}

impl<'d> Iterator for Children<'d> {
    type Item = Node<'d>;
    #[inline]
    fn next(&mut self) -> Option<Node<'d>> {
        let id = self.next;
        let n = self.tree.nodes.get(id as usize)?;
        self.next = n.next;
        Some(if n.decl == TEXT {
            Node::Text(self.tree.str(n.name))
        } else {
            Node::Element(Element {
                tree: self.tree,
                id,
            })
        })
    }
}

/// Structural equality: namespace, name, prefix, line, attributes and children.
impl PartialEq for Element<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.ns() == other.ns()
            && self.name() == other.name()
            && self.prefix() == other.prefix()
            && self.line() == other.line()
            && self.attrs().eq(other.attrs())
            && self.children().eq(other.children())
    }
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Element")
            .field("ns", &self.ns())
            .field("name", &self.name())
            .field("prefix", &self.prefix())
            .field("attrs", &self.attrs().collect::<Vec<_>>())
            .field("children", &self.children().collect::<Vec<_>>())
            .field("line", &self.line())
            .finish()
    }
}
