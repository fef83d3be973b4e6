//! An owned, namespace-resolved XML element tree for what RID carries opaquely (the IODEF v1 `Node`,
//! `ExtensionType` content such as the enclosed IODEF document and `ds:Signature`), made from the
//! IODEF reader's arena (`crate::iodef::parse_xml`: no DTD, size and depth limits), and its writer,
//! which declares each namespace where it is first needed.

use crate::iodef::{Element, Node};

/// The XML namespace (`xml:` prefix), bound in every document.
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// An attribute, namespace-resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlAttr {
    /// Namespace URI ("" for unqualified attributes).
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Prefix used in the source (serialisation only).
    pub prefix: Option<String>,
    /// Value, unescaped.
    pub value: String,
}

impl XmlAttr {
    /// An unqualified attribute.
    pub fn new(name: &str, value: &str) -> XmlAttr {
        XmlAttr {
            ns: String::new(),
            name: name.into(),
            prefix: None,
            value: value.into(),
        }
    }
}

/// A child node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XmlNode {
    /// A child element.
    Element(XmlElement),
    /// Character data.
    Text(String),
}

/// An element with its attributes and children (the source line is kept for findings, not compared).
#[derive(Clone, Debug)]
pub struct XmlElement {
    /// Namespace URI ("" for none).
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Prefix used in the source (serialisation only).
    pub prefix: Option<String>,
    /// Attributes in source order, without namespace declarations.
    pub attrs: Vec<XmlAttr>,
    /// Children in document order.
    pub children: Vec<XmlNode>,
    /// 1-based source line of the start tag (0 when built).
    pub line: u32,
}

impl PartialEq for XmlElement {
    fn eq(&self, o: &Self) -> bool {
        self.ns == o.ns
            && self.name == o.name
            && self.attrs == o.attrs
            && self.children == o.children
    }
}
impl Eq for XmlElement {}

impl XmlElement {
    /// An empty element.
    pub fn new(ns: &str, name: &str, prefix: Option<&str>) -> XmlElement {
        XmlElement {
            ns: ns.into(),
            name: name.into(),
            prefix: prefix.map(String::from),
            attrs: Vec::new(),
            children: Vec::new(),
            line: 0,
        }
    }

    /// An owned copy of an arena element (recursion is bounded by the reader's depth limit).
    pub fn from_element(el: Element<'_>) -> XmlElement {
        XmlElement {
            ns: el.ns().into(),
            name: el.name().into(),
            prefix: el.prefix().map(String::from),
            attrs: el
                .attrs()
                .map(|a| XmlAttr {
                    ns: a.ns.into(),
                    name: a.name.into(),
                    prefix: a.prefix.map(String::from),
                    value: a.value.into(),
                })
                .collect(),
            children: el
                .children()
                .map(|n| match n {
                    Node::Element(e) => XmlNode::Element(XmlElement::from_element(e)),
                    Node::Text(t) => XmlNode::Text(t.into()),
                })
                .collect(),
            line: el.line(),
        }
    }

    /// The value of the unqualified attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &XmlElement> {
        self.children.iter().filter_map(|n| match n {
            XmlNode::Element(e) => Some(e),
            XmlNode::Text(_) => None,
        })
    }

    /// Concatenated text children.
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                XmlNode::Text(t) => Some(t.as_str()),
                XmlNode::Element(_) => None,
            })
            .collect()
    }

    /// Adds a text child (builder style).
    pub fn with_text(mut self, t: &str) -> XmlElement {
        self.children.push(XmlNode::Text(t.into()));
        self
    }

    /// Adds an unqualified attribute (builder style).
    pub fn with_attr(mut self, name: &str, value: &str) -> XmlElement {
        self.attrs.push(XmlAttr::new(name, value));
        self
    }

    /// Adds a child element (builder style).
    pub fn with_child(mut self, c: XmlElement) -> XmlElement {
        self.children.push(XmlNode::Element(c));
        self
    }

    /// This element as XML text (no declaration), every namespace it uses declared on it or below.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::default();
        w.element(self);
        w.out
    }
}

/// Escapes text content.
pub fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Escapes an attribute value (double quotes).
pub fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A writer with the namespace bindings in scope (prefix, or `None` for the default namespace).
#[derive(Default)]
pub struct Writer {
    /// The text written so far.
    pub out: String,
    scope: Vec<(Option<String>, String)>,
}

impl Writer {
    /// A writer whose output starts with `bindings` already declared by an outer element.
    pub fn within(out: String, bindings: &[(Option<&str>, &str)]) -> Writer {
        Writer {
            out,
            scope: bindings
                .iter()
                .map(|(p, n)| (p.map(String::from), n.to_string()))
                .collect(),
        }
    }

    fn bound(&self, prefix: Option<&str>) -> Option<&str> {
        self.scope
            .iter()
            .rev()
            .find(|(p, _)| p.as_deref() == prefix)
            .map(|(_, n)| n.as_str())
    }

    /// A prefix for an attribute namespace: its own if free, bound to it, or bound only by an
    /// ancestor (then redeclared here, shadowing it, so the source's prefixes survive a round
    /// trip); else one already bound to the namespace; else a new one. `mark` is where this
    /// element's own declarations start in the scope, `el_prefix` the element's own prefix (which
    /// must keep its binding on this element).
    fn attr_prefix(&self, a: &XmlAttr, mark: usize, el_prefix: Option<&str>) -> String {
        if let Some(p) = &a.prefix {
            let declared_here = self.scope[mark..]
                .iter()
                .any(|(q, _)| q.as_deref() == Some(p.as_str()));
            if self.bound(Some(p)).is_none_or(|n| n == a.ns)
                || (!declared_here && el_prefix != Some(p.as_str()))
            {
                return p.clone();
            }
        }
        if let Some((Some(p), _)) = self.scope.iter().rev().find(|(p, n)| {
            p.is_some() && *n == a.ns && self.bound(p.as_deref()) == Some(n.as_str())
        }) {
            return p.clone();
        }
        let mut i = 0;
        loop {
            let p = format!("ns{i}");
            if self.bound(Some(&p)).is_none() {
                return p;
            }
            i += 1;
        }
    }

    /// Writes `el` and its subtree.
    pub fn element(&mut self, el: &XmlElement) {
        let mark = self.scope.len();
        let mut decls: Vec<(Option<String>, String)> = Vec::new();
        let prefix = match (&el.prefix, el.ns.is_empty()) {
            // An element in no namespace cannot have a prefix.
            (_, true) => None,
            (Some(p), false) if p != "xml" && p != "xmlns" => Some(p.clone()),
            _ => None,
        };
        let current = self.bound(prefix.as_deref()).unwrap_or("");
        if current != el.ns {
            decls.push((prefix.clone(), el.ns.clone()));
            self.scope.push((prefix.clone(), el.ns.clone()));
        }
        let mut attrs: Vec<(Option<String>, &XmlAttr)> = Vec::new();
        for a in &el.attrs {
            if a.ns.is_empty() {
                attrs.push((None, a));
            } else if a.ns == NS_XML {
                attrs.push((Some("xml".into()), a));
            } else {
                let p = self.attr_prefix(a, mark, prefix.as_deref());
                if self.bound(Some(&p)) != Some(a.ns.as_str()) {
                    decls.push((Some(p.clone()), a.ns.clone()));
                    self.scope.push((Some(p.clone()), a.ns.clone()));
                }
                attrs.push((Some(p), a));
            }
        }
        self.out.push('<');
        let qname = match &prefix {
            Some(p) => format!("{p}:{}", el.name),
            None => el.name.clone(),
        };
        self.out.push_str(&qname);
        for (p, ns) in &decls {
            match p {
                Some(p) => self.out.push_str(&format!(" xmlns:{p}=\"")),
                None => self.out.push_str(" xmlns=\""),
            }
            escape_attr(ns, &mut self.out);
            self.out.push('"');
        }
        for (p, a) in attrs {
            self.out.push(' ');
            if let Some(p) = p {
                self.out.push_str(&p);
                self.out.push(':');
            }
            self.out.push_str(&a.name);
            self.out.push_str("=\"");
            escape_attr(&a.value, &mut self.out);
            self.out.push('"');
        }
        if el.children.is_empty() {
            self.out.push_str("/>");
        } else {
            self.out.push('>');
            for c in &el.children {
                match c {
                    XmlNode::Element(e) => self.element(e),
                    XmlNode::Text(t) => escape_text(t, &mut self.out),
                }
            }
            self.out.push_str("</");
            self.out.push_str(&qname);
            self.out.push('>');
        }
        self.scope.truncate(mark);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_namespaces_where_needed() {
        let el = XmlElement::new("urn:a", "A", Some("a"))
            .with_child(XmlElement::new("", "B", None).with_text("x<y"))
            .with_child(XmlElement::new("urn:a", "C", Some("a")).with_attr("k", "\"v\""));
        assert_eq!(
            el.to_xml(),
            "<a:A xmlns:a=\"urn:a\"><B>x&lt;y</B><a:C k=\"&quot;v&quot;\"/></a:A>"
        );
        let mut w = Writer::within(String::new(), &[(None, "urn:d")]);
        w.element(&XmlElement::new("", "E", None));
        assert_eq!(w.out, "<E xmlns=\"\"/>");
    }

    /// Fuzz finding rid_message-4: a prefix an ancestor binds to another namespace is redeclared
    /// on the attribute's element (before, the writer invented `ns0`, so the message read back
    /// with different prefixes).
    #[test]
    fn attribute_prefix_shadowing_an_ancestor_binding_is_kept() {
        let attr = |ns: &str, v: &str| XmlAttr {
            ns: ns.into(),
            name: "p".into(),
            prefix: Some("x".into()),
            value: v.into(),
        };
        let mut inner = XmlElement::new("", "B", None);
        inner.attrs.push(attr("urn:b", "2"));
        let mut outer = XmlElement::new("", "A", None).with_child(inner);
        outer.attrs.push(attr("urn:a", "1"));
        assert_eq!(
            outer.to_xml(),
            "<A xmlns:x=\"urn:a\" x:p=\"1\"><B xmlns:x=\"urn:b\" x:p=\"2\"/></A>"
        );
        // The element's own prefix keeps its binding: an attribute with that prefix in another
        // namespace gets a fresh one.
        let mut el = XmlElement::new("urn:a", "C", Some("x"));
        el.attrs.push(attr("urn:b", "3"));
        let w = XmlElement::new("urn:a", "R", Some("x")).with_child(el);
        assert_eq!(
            w.to_xml(),
            "<x:R xmlns:x=\"urn:a\"><x:C xmlns:ns0=\"urn:b\" ns0:p=\"3\"/></x:R>"
        );
    }
}
