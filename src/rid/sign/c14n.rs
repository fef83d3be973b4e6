//! Exclusive XML Canonicalization 1.0 without comments (W3C xml-exc-c14n, 2002) over [`El`]: the
//! one canonical form RID signatures use (RFC 6545 §9.1). Comments and the XML declaration are not
//! in the tree; processing instructions are refused by the reader. Each element renders only the
//! namespaces it *visibly utilizes* (its own prefix, its attributes' prefixes) that the nearest
//! output ancestor did not already render with the same value; `xml:` attributes are not inherited.

use super::tree::{Child, El};
use crate::rid::xml::NS_XML;

/// Namespaces rendered by output ancestors, innermost last (`None`: the default namespace).
type Rendered = Vec<(Option<String>, String)>;

fn rendered<'a>(r: &'a Rendered, prefix: Option<&str>) -> Option<&'a str> {
    r.iter()
        .rev()
        .find(|(p, _)| p.as_deref() == prefix)
        .map(|(_, n)| n.as_str())
}

/// Text node escaping (§2.3 of Canonical XML 1.0).
fn text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Attribute value escaping (§2.3 of Canonical XML 1.0).
fn attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// The canonical form of the subtree at `apex` (an apex has no output ancestors), leaving out the
/// element `skip` (with its subtree) when given: the enveloped-signature transform.
pub fn canonicalize(apex: &El, skip: Option<&El>) -> String {
    let mut out = String::new();
    let mut r = Rendered::new();
    element(apex, skip, &mut r, &mut out);
    out
}

fn element(e: &El, skip: Option<&El>, r: &mut Rendered, out: &mut String) {
    let mark = r.len();
    let mut decls: Vec<(Option<String>, String)> = Vec::new();
    let mut need = |prefix: Option<&str>, ns: &str, r: &Rendered| {
        if decls.iter().any(|(p, _)| p.as_deref() == prefix) {
            return;
        }
        let current = rendered(r, prefix).unwrap_or("");
        if current != ns {
            decls.push((prefix.map(String::from), ns.to_string()));
        }
    };
    // The element's own prefix (or the default namespace, which may need undeclaring: `xmlns=""`).
    let own = if e.ns.is_empty() {
        None
    } else {
        e.prefix.as_deref()
    };
    need(own, &e.ns, r);
    for a in &e.attrs {
        if !a.ns.is_empty() && a.ns != NS_XML {
            need(a.prefix.as_deref(), &a.ns, r);
        }
    }
    // Default namespace first, then by prefix.
    decls.sort_by(|a, b| a.0.cmp(&b.0));
    let mut attrs: Vec<_> = e.attrs.iter().collect();
    attrs.sort_by(|a, b| (a.ns.as_str(), a.name.as_str()).cmp(&(b.ns.as_str(), b.name.as_str())));
    let q = match own {
        Some(p) => format!("{p}:{}", e.name),
        None => e.name.clone(),
    };
    out.push('<');
    out.push_str(&q);
    for (p, ns) in &decls {
        match p {
            Some(p) => {
                out.push_str(" xmlns:");
                out.push_str(p);
            }
            None => out.push_str(" xmlns"),
        }
        out.push_str("=\"");
        attr(ns, out);
        out.push('"');
    }
    r.extend(decls);
    for a in attrs {
        out.push(' ');
        if a.ns == NS_XML {
            out.push_str("xml:");
        } else if !a.ns.is_empty() {
            out.push_str(a.prefix.as_deref().unwrap_or(""));
            out.push(':');
        }
        out.push_str(&a.name);
        out.push_str("=\"");
        attr(&a.value, out);
        out.push('"');
    }
    out.push('>');
    for c in &e.children {
        match c {
            Child::El(c) if skip.is_some_and(|s| std::ptr::eq(s, c)) => {}
            Child::El(c) => element(c, skip, r, out),
            Child::Text(t) => text(t, out),
        }
    }
    out.push_str("</");
    out.push_str(&q);
    out.push('>');
    r.truncate(mark);
}

#[cfg(test)]
mod tests {
    use super::super::tree::read;
    use super::*;

    fn c(xml: &str) -> String {
        canonicalize(&read(xml.as_bytes()).unwrap(), None)
    }

    /// Exclusive c14n spec examples and the usual traps: unused namespaces dropped, attributes
    /// sorted by namespace URI then name, empty elements expanded, references resolved, escapes.
    #[test]
    fn canonical_forms() {
        assert_eq!(
            c("<?xml version=\"1.0\"?><!-- c --><a:e xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" z=\"1\" b:y=\"2\" a:x=\"3\"/>"),
            "<a:e xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" z=\"1\" a:x=\"3\" b:y=\"2\"></a:e>"
        );
        assert_eq!(
            c("<r xmlns=\"urn:d\" xmlns:u=\"urn:unused\"><s xmlns=\"\">x&amp;y&#13;&gt;</s><t/></r>"),
            "<r xmlns=\"urn:d\"><s xmlns=\"\">x&amp;y&#xD;&gt;</s><t></t></r>"
        );
        assert_eq!(
            c("<r a=\"&#9;&#10;x\ty\r\nz&quot;'\"><![CDATA[<&>]]></r>"),
            "<r a=\"&#x9;&#xA;x y z&quot;'\">&lt;&amp;&gt;</r>"
        );
        // A prefix already rendered by an output ancestor with the same value is not repeated;
        // with another value it is.
        assert_eq!(
            c("<p:a xmlns:p=\"urn:1\"><p:b/><p:c xmlns:p=\"urn:2\"/></p:a>"),
            "<p:a xmlns:p=\"urn:1\"><p:b></p:b><p:c xmlns:p=\"urn:2\"></p:c></p:a>"
        );
        // xml: attributes are not inherited and xml: is never declared.
        assert_eq!(
            c("<a xml:lang=\"en\"><b/></a>"),
            "<a xml:lang=\"en\"><b></b></a>"
        );
    }

    #[test]
    fn hostile_input_refused() {
        for bad in [
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            "<a>&x;</a>",
            "<a><?pi x?></a>",
            "<a><b></a>",
            "<p:a/>",
        ] {
            assert!(read(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
