//! Where the enclosed documents sit in a RID message's text, and whether the message is
//! restricted. Encryption replaces the exact octets of the enclosed element (and decryption puts
//! them back), so the rest of the message, and with it the originator's detached signature over a
//! RecordItem, stays byte for byte what the sender wrote.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::error::XencError;
use crate::rid::NS_RID;

/// Deepest nesting read (RID messages are far shallower; the RID reader has its own limit).
const MAX_DEPTH: usize = 256;

/// One child element of `RIDPolicy/ReportSchema/XMLDocument`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of its `<`.
    pub start: usize,
    /// Byte offset just past its end tag.
    pub end: usize,
    /// Its namespace.
    pub ns: String,
    /// Its local name.
    pub name: String,
}

/// What a scan of a message found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The elements inside `XMLDocument`, in order.
    pub documents: Vec<Span>,
    /// The first `restriction` that requires encryption, as `element="value"`.
    pub restricted: Option<String>,
}

/// Restriction values that must not travel in clear text: RFC 6545's `private` and `need-to-know`,
/// and IODEF v2's (RFC 7970) TLP values that limit who may read (`amber`, `red`), treated alike.
fn must_encrypt(value: &str) -> bool {
    matches!(value.trim(), "private" | "need-to-know" | "amber" | "red")
}

/// The path of `XMLDocument` from the root, in the RID namespace.
const PATH: [&str; 4] = ["RID", "RIDPolicy", "ReportSchema", "XMLDocument"];

/// Scans a RID message.
pub fn scan(xml: &str) -> Result<Scan, XencError> {
    let mut r = NsReader::from_str(xml);
    r.config_mut().check_end_names = true;
    let mut out = Scan::default();
    // (ns is RID, local name) of the open elements.
    let mut stack: Vec<(bool, String)> = Vec::new();
    let mut open: Option<(usize, usize, String, String)> = None; // (start, depth, ns, name)
    loop {
        let before = usize::try_from(r.buffer_position()).unwrap_or(usize::MAX);
        let (res, ev) = r
            .read_resolved_event()
            .map_err(|e| XencError::Xml(e.to_string()))?;
        let ns = match res {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match ev {
            Event::Start(ref s) | Event::Empty(ref s) => {
                let name = String::from_utf8_lossy(s.local_name().as_ref()).into_owned();
                if out.restricted.is_none() {
                    out.restricted = restriction(s)?.map(|v| format!("{name}={v:?}"));
                }
                let in_doc = stack.len() == PATH.len()
                    && stack.iter().zip(PATH).all(|((rid, n), p)| *rid && n == p);
                if in_doc && open.is_none() {
                    open = Some((before, stack.len(), ns.clone(), name.clone()));
                }
                if matches!(ev, Event::Start(_)) {
                    if stack.len() >= MAX_DEPTH {
                        return Err(XencError::Xml("nested too deep".into()));
                    }
                    stack.push((ns == NS_RID, name));
                } else {
                    close(&mut open, stack.len(), &r, &mut out);
                }
            }
            Event::End(_) => {
                stack.pop();
                close(&mut open, stack.len(), &r, &mut out);
            }
            Event::DocType(_) => return Err(XencError::Xml("DTD refused".into())),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// Ends the open document span when the element at `depth` closed.
fn close(
    open: &mut Option<(usize, usize, String, String)>,
    depth: usize,
    r: &NsReader<&[u8]>,
    out: &mut Scan,
) {
    if open.as_ref().is_some_and(|o| o.1 == depth) {
        if let Some((start, _, ns, name)) = open.take() {
            let end = usize::try_from(r.buffer_position()).unwrap_or(usize::MAX);
            out.documents.push(Span {
                start,
                end,
                ns,
                name,
            });
        }
    }
}

/// The element's `restriction` when it requires encryption.
fn restriction(s: &BytesStart<'_>) -> Result<Option<String>, XencError> {
    for a in s.attributes() {
        let a = a.map_err(|e| XencError::Xml(e.to_string()))?;
        if a.key.as_ref() == b"restriction" {
            let v = a
                .unescape_value()
                .map_err(|e| XencError::Xml(e.to_string()))?;
            if must_encrypt(&v) {
                return Ok(Some(v.trim().to_string()));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_restrictions() {
        let xml = r#"<?xml version="1.0"?><RID xmlns="urn:ietf:params:xml:ns:iodef-rid-2.0"><RIDPolicy restriction="public"><ReportSchema><XMLDocument dtype="xml"> <d:Doc xmlns:d="urn:x"><d:A restriction="private"/></d:Doc><e/></XMLDocument></ReportSchema></RIDPolicy></RID>"#;
        let s = scan(xml).unwrap();
        assert_eq!(s.documents.len(), 2);
        let d = &s.documents[0];
        assert_eq!(
            &xml[d.start..d.end],
            r#"<d:Doc xmlns:d="urn:x"><d:A restriction="private"/></d:Doc>"#
        );
        assert_eq!(d.ns, "urn:x");
        assert_eq!(&xml[s.documents[1].start..s.documents[1].end], "<e/>");
        assert_eq!(s.restricted.as_deref(), Some("A=\"private\""));
        let clear = xml.replace("private", "public");
        assert!(scan(&clear).unwrap().restricted.is_none());
    }
}
