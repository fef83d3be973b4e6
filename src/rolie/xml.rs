//! A small XML writer over quick-xml, and the namespaces ROLIE uses.
//!
//! Why hand-written documents rather than the `atom_syndication` crate: that
//! crate models Atom feeds and entries only, while ROLIE also needs AtomPub
//! service and category documents (the `app:` namespace), and its extension
//! model would still leave `rolie:format` / `rolie:property` and the exact
//! namespace spelling (RFC 8322 prints wrong `https://` URIs) to us. Writing
//! the four documents with quick-xml's writer keeps escaping in one audited
//! place ([`XmlOut`]) and costs one dependency less.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

/// The Atom namespace (RFC 4287 §2; RFC 8322 §3.1 misprints it as https).
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
/// The AtomPub namespace (RFC 5023 §2.1; misprinted as https in RFC 8322).
pub const APP_NS: &str = "http://www.w3.org/2007/app";
/// The ROLIE namespace as registered (RFC 8322 §8.1), not §3.1's `rolie:1.0`.
pub const ROLIE_NS: &str = "urn:ietf:params:xml:ns:rolie-1.0";
/// The Atom tombstones namespace (RFC 6721, `at:deleted-entry`).
pub const TOMBSTONES_NS: &str = "http://purl.org/atompub/tombstones/1.0";
/// The category scheme that makes a collection, feed or entry ROLIE (§7.1.2).
pub const INFORMATION_TYPE_SCHEME: &str = "urn:ietf:params:rolie:category:information-type";
/// The registered property carrying the IODEF IncidentID (§7.4).
pub const CONTENT_ID_PROPERTY: &str = "urn:ietf:params:rolie:property:content-id";
/// The ROLIE CSIRT draft's category scheme for IODEF `Incident@purpose`.
pub const PURPOSE_SCHEME: &str = "urn:ietf:params:rolie:category:csirt:iodef:purpose";

/// Builds one XML document in memory. Every attribute value and text node
/// goes through quick-xml's escaping, after [`clean`] has removed characters
/// XML 1.0 cannot carry at all.
pub(crate) struct XmlOut {
    writer: Writer<Vec<u8>>,
    error: Option<std::io::Error>,
}

impl XmlOut {
    /// Starts a document with an XML declaration.
    pub(crate) fn new() -> XmlOut {
        let mut out = XmlOut {
            writer: Writer::new_with_indent(Vec::new(), b' ', 2),
            error: None,
        };
        out.event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)));
        out
    }

    fn event(&mut self, event: Event<'_>) {
        if let Err(e) = self.writer.write_event(event) {
            self.error.get_or_insert(e);
        }
    }

    fn tag<'a>(name: &'a str, attrs: &[(&str, &str)]) -> BytesStart<'a> {
        let mut tag = BytesStart::new(name);
        for (k, v) in attrs {
            tag.push_attribute((*k, clean(v).as_str()));
        }
        tag
    }

    /// Opens `<name attrs…>`.
    pub(crate) fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.event(Event::Start(Self::tag(name, attrs)));
    }

    /// Closes `</name>`.
    pub(crate) fn end(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(name)));
    }

    /// Writes `<name attrs…/>`.
    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.event(Event::Empty(Self::tag(name, attrs)));
    }

    /// Writes `<name attrs…>text</name>`.
    pub(crate) fn text(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start(name, attrs);
        self.event(Event::Text(BytesText::new(&clean(text))));
        self.end(name);
    }

    /// The finished document.
    pub(crate) fn finish(self) -> Result<String, std::io::Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        String::from_utf8(self.writer.into_inner())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

/// Replaces characters that XML 1.0 forbids even when escaped (C0 controls
/// other than tab/newline/carriage return, U+FFFE, U+FFFF) with U+FFFD.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_cleans() {
        let mut out = XmlOut::new();
        out.text("a", &[("x", "\"<&>'")], "<&>\u{1}");
        let s = out.finish().unwrap();
        assert!(s.contains("x=\"&quot;&lt;&amp;&gt;&apos;\""), "{s}");
        assert!(s.contains("&lt;&amp;&gt;\u{fffd}"), "{s}");
    }
}
