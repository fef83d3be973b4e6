//! The XML tree signatures are made and checked on: every character of text kept (the RID reader
//! drops ignorable whitespace, which a canonical form must not), namespace declarations kept where
//! they were written, and a writer that gives back the same infoset. Hostile input: UTF-8 only, no
//! DTD, only the predefined entities, no processing instructions, a depth limit (the size limit is
//! the caller's, `MAX_MESSAGE_BYTES`).

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::error::SigError;
use crate::rid::xml::{escape_attr, escape_text, XmlAttr, NS_XML};

/// Deepest element nesting read (IODEF documents are far shallower).
const MAX_DEPTH: usize = 128;

/// An element as written: names, the namespace declarations on its start tag, attributes, children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct El {
    /// Namespace URI ("" for none).
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Prefix (`None`: the default namespace).
    pub prefix: Option<String>,
    /// Namespace declarations on this start tag (`None`: `xmlns=`).
    pub decls: Vec<(Option<String>, String)>,
    /// Attributes (namespace-qualified ones carry their prefix).
    pub attrs: Vec<XmlAttr>,
    /// Children in document order.
    pub children: Vec<Child>,
}

/// A child node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Child {
    /// An element.
    El(El),
    /// Character data (references resolved, line ends normalised).
    Text(String),
}

impl El {
    /// An element with a prefix and no content.
    pub fn new(ns: &str, prefix: Option<&str>, name: &str) -> El {
        El {
            ns: ns.into(),
            name: name.into(),
            prefix: prefix.map(String::from),
            decls: Vec::new(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds an unqualified attribute.
    pub fn attr(mut self, name: &str, value: &str) -> El {
        self.attrs.push(XmlAttr::new(name, value));
        self
    }

    /// Adds a child element.
    pub fn child(mut self, c: El) -> El {
        self.children.push(Child::El(c));
        self
    }

    /// Adds text.
    pub fn text(mut self, t: &str) -> El {
        self.children.push(Child::Text(t.into()));
        self
    }

    /// The unqualified attribute `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &El> {
        self.children.iter().filter_map(|c| match c {
            Child::El(e) => Some(e),
            Child::Text(_) => None,
        })
    }

    /// Child elements named `{ns}name`.
    pub fn named<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a El> {
        self.elements()
            .filter(move |e| e.ns == ns && e.name == name)
    }

    /// Concatenated text children.
    pub fn text_content(&self) -> String {
        self.children
            .iter()
            .filter_map(|c| match c {
                Child::Text(t) => Some(t.as_str()),
                Child::El(_) => None,
            })
            .collect()
    }

    /// `prefix:name` or `name`.
    pub fn qname(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}:{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The element as XML (no declaration), exactly the declarations and prefixes it holds.
    pub fn write(&self, out: &mut String) {
        let q = self.qname();
        out.push('<');
        out.push_str(&q);
        for (p, ns) in &self.decls {
            match p {
                Some(p) => out.push_str(&format!(" xmlns:{p}=\"")),
                None => out.push_str(" xmlns=\""),
            }
            escape_attr(ns, out);
            out.push('"');
        }
        for a in &self.attrs {
            out.push(' ');
            if a.ns == NS_XML {
                out.push_str("xml:");
            } else if let Some(p) = a.prefix.as_deref().filter(|_| !a.ns.is_empty()) {
                out.push_str(p);
                out.push(':');
            }
            out.push_str(&a.name);
            out.push_str("=\"");
            escape_attr(&a.value, out);
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for c in &self.children {
            match c {
                Child::El(e) => e.write(out),
                Child::Text(t) => escape_text(t, out),
            }
        }
        out.push_str("</");
        out.push_str(&q);
        out.push('>');
    }
}

fn xml_err(m: impl Into<String>) -> SigError {
    SigError::Xml(m.into())
}

/// XML 1.0 §2.11: CR LF and lone CR become LF.
fn norm_eol(s: &str) -> Cow<'_, str> {
    if s.contains('\r') {
        Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(s)
    }
}

/// XML 1.0 §3.3.3 for CDATA attributes: line ends, tabs and newlines become spaces, then references.
fn attr_value(raw: &[u8]) -> Result<String, SigError> {
    let s = std::str::from_utf8(raw).map_err(|_| xml_err("attribute value is not UTF-8"))?;
    let s = norm_eol(s).replace(['\t', '\n'], " ");
    quick_xml::escape::unescape(&s)
        .map(|v| v.into_owned())
        .map_err(|e| xml_err(format!("attribute value: {e}")))
}

fn lookup<'a>(scope: &'a [(Option<String>, String)], prefix: Option<&str>) -> Option<&'a str> {
    scope
        .iter()
        .rev()
        .find(|(p, _)| p.as_deref() == prefix)
        .map(|(_, n)| n.as_str())
}

fn split(q: &str) -> (Option<&str>, &str) {
    match q.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, q),
    }
}

/// A start tag as an element; its declarations are pushed onto `scope`.
fn start(s: &BytesStart<'_>, scope: &mut Vec<(Option<String>, String)>) -> Result<El, SigError> {
    let qname = std::str::from_utf8(s.name().as_ref())
        .map_err(|_| xml_err("element name is not UTF-8"))?
        .to_string();
    let mut decls = Vec::new();
    let mut raw = Vec::new();
    for a in s.attributes() {
        let a = a.map_err(|e| xml_err(e.to_string()))?;
        let key = std::str::from_utf8(a.key.as_ref())
            .map_err(|_| xml_err("attribute name is not UTF-8"))?
            .to_string();
        let value = attr_value(&a.value)?;
        if key == "xmlns" {
            decls.push((None, value));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            if value.is_empty() || p == "xmlns" || (p == "xml") != (value == NS_XML) {
                return Err(xml_err(format!(
                    "namespace declaration {key}={value:?} refused"
                )));
            }
            decls.push((Some(p.to_string()), value));
        } else {
            raw.push((key, value));
        }
    }
    scope.extend(decls.iter().cloned());
    let (prefix, name) = split(&qname);
    let ns = match prefix {
        Some(p) => lookup(scope, Some(p))
            .ok_or_else(|| xml_err(format!("prefix {p:?} of <{qname}> is not declared")))?,
        None => lookup(scope, None).unwrap_or(""),
    };
    let mut el = El::new(ns, prefix, name);
    el.decls = decls;
    for (key, value) in raw {
        let (p, local) = split(&key);
        let ns = match p {
            None => "",
            Some(p) => lookup(scope, Some(p)).ok_or_else(|| {
                xml_err(format!("prefix {p:?} of attribute {key} is not declared"))
            })?,
        };
        if el.attrs.iter().any(|a| a.ns == ns && a.name == local) {
            return Err(xml_err(format!("attribute {key} repeated")));
        }
        el.attrs.push(XmlAttr {
            ns: ns.into(),
            name: local.into(),
            prefix: p.map(String::from),
            value,
        });
    }
    Ok(el)
}

fn push_text(stack: &mut [El], t: &str) -> Result<(), SigError> {
    let Some(top) = stack.last_mut() else {
        return if t.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
            Ok(())
        } else {
            Err(xml_err("text outside the document element"))
        };
    };
    match top.children.last_mut() {
        Some(Child::Text(prev)) => prev.push_str(t),
        _ => top.children.push(Child::Text(t.into())),
    }
    Ok(())
}

/// Reads a document into its element tree.
pub fn read(bytes: &[u8]) -> Result<El, SigError> {
    let src = std::str::from_utf8(bytes).map_err(|_| xml_err("the document is not UTF-8"))?;
    let mut r = Reader::from_str(src);
    r.config_mut().check_end_names = true;
    r.config_mut().check_comments = true;
    let mut scope: Vec<(Option<String>, String)> = vec![(Some("xml".into()), NS_XML.into())];
    let mut marks: Vec<usize> = Vec::new();
    let mut stack: Vec<El> = Vec::new();
    let mut root: Option<El> = None;
    let mut finish = |el: El, stack: &mut Vec<El>| -> Result<(), SigError> {
        match stack.last_mut() {
            Some(p) => p.children.push(Child::El(el)),
            None if root.is_none() => root = Some(el),
            None => return Err(xml_err("more than one document element")),
        }
        Ok(())
    };
    loop {
        let ev = r
            .read_event()
            .map_err(|e| xml_err(format!("at byte {}: {e}", r.error_position())))?;
        match ev {
            Event::Start(ref s) | Event::Empty(ref s) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(xml_err(format!("nested deeper than {MAX_DEPTH} elements")));
                }
                marks.push(scope.len());
                let el = start(s, &mut scope)?;
                if matches!(ev, Event::Empty(_)) {
                    scope.truncate(marks.pop().unwrap_or(0));
                    finish(el, &mut stack)?;
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| xml_err("unexpected end tag"))?;
                scope.truncate(marks.pop().unwrap_or(0));
                finish(el, &mut stack)?;
            }
            Event::Text(t) => {
                let s =
                    std::str::from_utf8(t.as_ref()).map_err(|_| xml_err("text is not UTF-8"))?;
                push_text(&mut stack, &norm_eol(s))?;
            }
            Event::CData(t) => {
                let s =
                    std::str::from_utf8(t.as_ref()).map_err(|_| xml_err("CDATA is not UTF-8"))?;
                if stack.is_empty() {
                    return Err(xml_err("CDATA outside the document element"));
                }
                push_text(&mut stack, &norm_eol(s))?;
            }
            Event::GeneralRef(g) => {
                let c = if g.is_char_ref() {
                    g.resolve_char_ref()
                        .map_err(|e| xml_err(e.to_string()))?
                        .ok_or_else(|| xml_err("bad character reference"))?
                } else {
                    match &*g {
                        b"amp" => '&',
                        b"lt" => '<',
                        b"gt" => '>',
                        b"quot" => '"',
                        b"apos" => '\'',
                        other => {
                            return Err(xml_err(format!(
                                "entity &{}; refused (only the predefined entities)",
                                String::from_utf8_lossy(other)
                            )))
                        }
                    }
                };
                if stack.is_empty() {
                    return Err(xml_err("reference outside the document element"));
                }
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]))?;
            }
            Event::DocType(_) => return Err(xml_err("DTD refused")),
            Event::PI(_) => {
                // Canonical XML keeps processing instructions; RID has no use for them, so a signed
                // document with one is refused rather than canonicalised half-right.
                return Err(xml_err("processing instruction refused"));
            }
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    if !enc.eq_ignore_ascii_case(b"utf-8") {
                        return Err(xml_err("only UTF-8 documents are read"));
                    }
                }
            }
            Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(xml_err("document ends inside an element"));
    }
    root.ok_or_else(|| xml_err("no document element"))
}

/// The document: an XML declaration, then the element.
pub fn document(root: &El) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    root.write(&mut out);
    out.push('\n');
    out
}
