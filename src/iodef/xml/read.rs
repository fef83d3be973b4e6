//! The XML reader: fills the document arena straight from quick-xml's events, under hard limits (no
//! DTD, only the five predefined entities, size and depth caps: `limits.rs`). This file is the entry
//! points and the event loop; what each start tag and text becomes is `parser.rs`.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::parser::{span_in, Parser};
use super::scan::{find_byte, norm_eol, resolve_ref};
use crate::iodef::arena::{Str, Tree};
use crate::iodef::error::IodefError;
use crate::iodef::schema::name_table;

/// A reader position as a node's `line` field (a byte offset in parsed trees, see `arena::Tree`).
fn offset(pos: u64) -> u32 {
    u32::try_from(pos).unwrap_or(u32::MAX)
}

/// 1-based line of byte `pos` of `src`.
fn line_at(src: &str, pos: u32) -> u32 {
    let end = (pos as usize).min(src.len());
    1 + memchr::memchr_iter(b'\n', &src.as_bytes()[..end]).count() as u32
}

/// Parses XML text into a tree whose node 0 is the root element. Enforces the limits described in
/// the module docs.
///
/// Nodes record the byte offset of their start tag; the line is counted only when asked for
/// ([`Element::line`](crate::iodef::Element::line)), since counting newlines while reading showed in the
/// profile. For the same reason the reader passes offsets (`at`) around and turns the one in an
/// error into a line here.
pub(crate) fn parse_xml(src: &str) -> Result<Tree, IodefError> {
    read(src).map_err(|e| match e {
        IodefError::Xml { line, message } => IodefError::Xml {
            line: line_at(src, line),
            message,
        },
        IodefError::TooDeep { line, max } => IodefError::TooDeep {
            line: line_at(src, line),
            max,
        },
        IodefError::Entity { line, name } => IodefError::Entity {
            line: line_at(src, line),
            name,
        },
        IodefError::Doctype { line } => IodefError::Doctype {
            line: line_at(src, line),
        },
        other => other,
    })
}

/// [`parse_xml`] with byte offsets where errors have lines.
fn read(src: &str) -> Result<Tree, IodefError> {
    // quick-xml does not check characters; without this a raw control character reached the tree
    // and gridlink wrote JSON it could not read back (found by fuzzing, issue 21).
    if let Some(at) = first_non_xml_char(src.as_bytes()) {
        // A byte offset here; `parse_xml` turns it into a line.
        return Err(IodefError::xml(
            u32::try_from(at).unwrap_or(u32::MAX),
            "character not allowed in XML 1.0 (§2.2: control characters but tab, LF, CR, and U+FFFE/U+FFFF)",
        ));
    }
    let mut reader = Reader::from_str(src);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let mut tree = Tree::default();
    // The buffer starts as the source (spans point into it); unescaped text goes after it.
    tree.buf.reserve(src.len() + src.len() / 16 + 64);
    tree.buf.push_str(src);
    // Room for every node up front (growing the node array showed in the profile): a node per `<`
    // is enough for IODEF (an element has one or two, and at most one text node beside them).
    let tags = memchr::memchr_iter(b'<', src.as_bytes()).count();
    tree.nodes.reserve(tags + 1);
    tree.attrs.reserve(src.len() / 96);
    tree.src_len = offset(src.len() as u64);
    let mut p = Parser {
        src,
        tree,
        stack: Vec::with_capacity(32),
        bindings: Vec::with_capacity(8),
        scratch: Vec::with_capacity(16),
        root_done: false,
        default_ns: Str::EMPTY,
        names: name_table(),
        any_cr: memchr::memchr(b'\r', src.as_bytes()).is_some(),
    };
    // Whitespace between the children of element-only content is not information and is dropped,
    // but only once the whole run of text it starts is known to be whitespace: quick-xml hands a
    // run over in pieces (text, references, CDATA), and `\n  &gt;x` must keep its `\n  ` as
    // `\n  >x` read whole does (the writer escapes `>`: fuzz finding rid_message-7). Until an
    // element tag ends the run, its whitespace waits here (a reused buffer).
    let mut ws = String::new();
    loop {
        let at = offset(reader.buffer_position());
        let ev = match reader.read_event() {
            Ok(x) => x,
            Err(e) => {
                let msg = e.to_string();
                return Err(IodefError::xml(offset(reader.error_position()), msg));
            }
        };
        match ev {
            // A tag ends the run: waiting whitespace was between children after all.
            Event::Start(_) | Event::Empty(_) | Event::End(_) | Event::Eof => ws.clear(),
            // Comments and PIs are not kept, and do not end a run of text.
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {}
            // Text: the waiting whitespace starts it.
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if !ws.is_empty() => {
                // Whitespace too (a piece of the same run): it waits as well.
                let droppable = match &ev {
                    Event::Text(t) => p.between_children(t),
                    Event::CData(t) => p.between_children(t),
                    Event::GeneralRef(r) => std::str::from_utf8(r.as_ref())
                        .ok()
                        .and_then(|n| resolve_ref(n, at).ok())
                        .is_some_and(|c| p.between_children(c.encode_utf8(&mut [0; 4]).as_bytes())),
                    _ => false,
                };
                if !droppable {
                    let pending = std::mem::take(&mut ws);
                    p.text(None, &pending, at)?;
                    ws = pending;
                    ws.clear();
                }
            }
            _ => {}
        }
        match ev {
            Event::Start(ref s) => p.start(s, at, false)?,
            Event::Empty(ref s) => p.start(s, at, true)?,
            Event::End(_) => {
                let open = p
                    .stack
                    .pop()
                    .ok_or_else(|| IodefError::xml(at, "unexpected end tag"))?;
                p.bindings.truncate(open.bindings);
                p.default_ns = open.default_ns;
                if p.stack.is_empty() {
                    p.root_done = true;
                }
            }
            // Whitespace that may be between children waits (above).
            Event::Text(t) if p.between_children(&t) => wait(&mut ws, &p, t.as_ref(), at)?,
            Event::Text(t) => text_event(&mut p, t.as_ref(), at, "text")?,
            Event::CData(t) if p.between_children(&t) => wait(&mut ws, &p, t.as_ref(), at)?,
            Event::CData(t) => text_event(&mut p, t.as_ref(), at, "CDATA")?,
            Event::GeneralRef(r) => {
                let name = std::str::from_utf8(r.as_ref())
                    .map_err(|_| IodefError::xml(at, "reference is not UTF-8"))?;
                let c = resolve_ref(name, at)?;
                let mut buf = [0; 4];
                let c = c.encode_utf8(&mut buf);
                if p.between_children(c.as_bytes()) {
                    ws.push_str(c);
                } else {
                    p.text(None, c, at)?;
                }
            }
            Event::DocType(_) => return Err(IodefError::Doctype { line: at }),
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    if !enc.eq_ignore_ascii_case(b"utf-8") {
                        return Err(IodefError::Encoding(
                            String::from_utf8_lossy(&enc).into_owned(),
                        ));
                    }
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = p.stack.last() {
        let n = &p.tree.nodes[open.id as usize];
        return Err(IodefError::xml(
            n.line,
            format!("element <{}> is not closed", p.tree.str(n.name)),
        ));
    }
    if p.tree.nodes.is_empty() {
        return Err(IodefError::xml(1, "no root element"));
    }
    Ok(p.tree)
}

/// The byte offset of the first character XML 1.0 does not allow anywhere in a document (§2.2
/// `Char`): a C0 control other than tab, LF, CR, or U+FFFE/U+FFFF (`EF BF BE`/`EF BF BF`).
fn first_non_xml_char(b: &[u8]) -> Option<usize> {
    let control = b
        .iter()
        .position(|&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r'));
    let nonchar = memchr::memchr_iter(0xEF, b)
        .find(|&i| b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)));
    match (control, nonchar) {
        (Some(a), Some(n)) => Some(a.min(n)),
        (a, n) => a.or(n),
    }
}

/// Whitespace that may be between children, kept aside until the run of text it starts ends
/// (line ends normalised as [`text_event`] does).
#[inline]
fn wait(ws: &mut String, p: &Parser<'_>, bytes: &[u8], at: u32) -> Result<(), IodefError> {
    let (_, s) = span_in(p.src, bytes, at, "text")?;
    if p.any_cr && find_byte(s.as_bytes(), b'\r').is_some() {
        ws.push_str(&norm_eol(s));
    } else {
        ws.push_str(s);
    }
    Ok(())
}

/// Text or CDATA: a span of the source unless line ends need normalising.
#[inline]
fn text_event(p: &mut Parser<'_>, bytes: &[u8], at: u32, what: &str) -> Result<(), IodefError> {
    let (span, s) = span_in(p.src, bytes, at, what)?;
    // Eight bytes at a time (`str::contains` and then a vectorised fold showed in the profile: text
    // is short, and both have a set-up cost per call).
    if p.any_cr && find_byte(s.as_bytes(), b'\r').is_some() {
        let n = norm_eol(s);
        p.text(None, &n, at)
    } else {
        p.text(Some(span), s, at)
    }
}

/// Parses an XML fragment (content of an element) into a tree whose root is a wrapper element;
/// its children are the fragment's nodes.
pub(crate) fn parse_fragment(s: &str) -> Result<Tree, IodefError> {
    let wrapped = format!("<gridlink-fragment>{s}</gridlink-fragment>");
    parse_xml(&wrapped)
}
