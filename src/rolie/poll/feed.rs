//! Reading one page of a remote Atom feed: its entries (id, updated, the
//! content link and the `xml:base`s it is relative to) and its `next` link.
//! Namespace-aware, foreign elements ignored, DOCTYPEs refused; what the
//! poller does with a page is the parent module's business.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::rolie::ATOM_NS;

/// One entry of a feed page.
#[derive(Debug, Default, Clone)]
pub(super) struct Entry {
    pub id: String,
    pub updated: String,
    pub content_src: Option<String>,
    /// The `xml:base` values in scope of `content` (outermost first), which
    /// `content_src` is relative to (RFC 4287 §2, XML Base).
    pub content_base: Vec<String>,
}

impl Entry {
    pub(super) fn key(&self) -> String {
        format!("{}|{}", self.id, self.updated)
    }
}

/// A parsed feed page: its entries (document order) and its `next` link.
#[derive(Debug, Default)]
pub(super) struct FeedPage {
    pub entries: Vec<Entry>,
    pub next: Option<String>,
    /// The `xml:base` values in scope of the `next` link.
    pub next_base: Vec<String>,
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Parses an Atom feed document (namespace-aware; foreign elements ignored).
pub(super) fn parse_feed(xml: &str) -> Result<FeedPage, String> {
    let mut r = NsReader::from_str(xml);
    let mut page = FeedPage::default();
    let mut cur: Option<Entry> = None;
    let mut text_of: Option<&'static str> = None;
    let mut depth = 0usize;
    let mut saw_feed = false;
    // The `xml:base` of each open element, outermost first.
    let mut bases: Vec<Option<String>> = Vec::new();
    loop {
        let (ns, ev) = r.read_resolved_event().map_err(|e| e.to_string())?;
        let atom = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == ATOM_NS.as_bytes());
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let local = e.local_name();
                let own_base = attr(e, b"xml:base");
                let in_scope = || -> Vec<String> {
                    bases
                        .iter()
                        .flatten()
                        .chain(own_base.iter())
                        .cloned()
                        .collect()
                };
                match (atom, local.as_ref(), depth) {
                    (true, b"feed", 0) => saw_feed = true,
                    (true, b"entry", 1) => cur = Some(Entry::default()),
                    (true, b"link", 1) if attr(e, b"rel").as_deref() == Some("next") => {
                        page.next = attr(e, b"href");
                        page.next_base = in_scope();
                    }
                    (true, b"id", 2) if cur.is_some() => text_of = Some("id"),
                    (true, b"updated", 2) if cur.is_some() => text_of = Some("updated"),
                    (true, b"content", 2) => {
                        if let Some(c) = cur.as_mut() {
                            c.content_src = attr(e, b"src");
                            c.content_base = in_scope();
                        }
                    }
                    _ => {}
                }
                if !empty {
                    depth += 1;
                    bases.push(own_base);
                }
            }
            Event::Text(t) => {
                if let (Some(field), Some(c)) = (text_of, cur.as_mut()) {
                    let v = t.decode().map_err(|e| e.to_string())?.trim().to_string();
                    match field {
                        "id" => c.id = v,
                        _ => c.updated = v,
                    }
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                bases.pop();
                text_of = None;
                if depth == 1 {
                    if let Some(c) = cur.take() {
                        page.entries.push(c);
                    }
                }
            }
            Event::DocType(_) => return Err("DOCTYPE not allowed in a feed".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_feed {
        return Err("not an Atom feed (no atom:feed root)".into());
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries, their content links and the next-page link are read; foreign
    /// elements and prefixes do not confuse the parser.
    #[test]
    fn parses_feed_pages() {
        let xml = r#"<a:feed xmlns:a="http://www.w3.org/2005/Atom" xmlns:r="urn:ietf:params:xml:ns:rolie-1.0">
          <a:id>urn:f</a:id><a:link rel="next" href="?before=5"/>
          <a:entry><a:id>urn:1</a:id><a:updated>2026-01-01T00:00:00Z</a:updated>
            <r:format ns="x"/><a:content type="application/xml" src="e/1.xml"/></a:entry>
          <a:entry><a:id>urn:2</a:id><a:updated>2026-01-02T00:00:00Z</a:updated></a:entry>
        </a:feed>"#;
        let p = parse_feed(xml).unwrap();
        assert_eq!(p.next.as_deref(), Some("?before=5"));
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].id, "urn:1");
        assert_eq!(p.entries[0].content_src.as_deref(), Some("e/1.xml"));
        assert_eq!(p.entries[1].key(), "urn:2|2026-01-02T00:00:00Z");
    }

    /// Non-feeds and DOCTYPEs are refused.
    #[test]
    fn rejects_non_feeds() {
        assert!(parse_feed("<html/>").is_err());
        assert!(parse_feed("<!DOCTYPE x><feed xmlns='http://www.w3.org/2005/Atom'/>").is_err());
    }
}
