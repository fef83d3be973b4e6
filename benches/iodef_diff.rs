//! Differential check of the IODEF code: one digest over everything it says about many mutated
//! documents, so that a change meant to be behaviour-neutral (a speed round) can be shown to be.
//!
//! Run `cargo bench --bench iodef_diff` on the base commit and on the change (each with its own
//! `CARGO_TARGET_DIR`); the printed SHA-256 digests must be equal. `-- --dump FILE` also writes
//! every output, one document after another, to compare with `cmp`/`diff` when they are not;
//! `-- --list` prints only the number of documents.
//!
//! The documents are every XML and JSON fixture under `tests/fixtures/iodef/` and deterministic
//! mutations of each XML one: every element deleted, duplicated and swapped with its next sibling;
//! an unknown element (and a foreign one) put first into every element; every attribute dropped
//! and given a handful of other values (enumeration words, dates, numbers, blanks, an entity);
//! every text given other contents; namespace declarations dropped or changed; prefixes added;
//! and the document cut at every tag. For each: the parse error, or strict validation (paths,
//! lines, messages), basic validation, the JSON text, the XML text, the canonical form, the summary,
//! the document read back from its own JSON (its XML, validation and JSON again) and read back
//! from its own XML.
//!
//! Not a benchmark: `bench = false` in Cargo.toml keeps it out of a plain `cargo bench`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use quick_xml::events::Event;
use quick_xml::Reader;
use sha2::{Digest, Sha256};

/// Every fixture file under `dir` with extension `ext`, sorted.
pub fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

/// Byte ranges of a document's pieces, found with a plain quick-xml read.
#[derive(Default)]
struct Pieces {
    /// Whole elements (start of the start tag .. end of the end tag), with their parent's index.
    elements: Vec<(usize, usize, Option<usize>)>,
    /// Start tags (`<` .. `>`), one per element, same order.
    tags: Vec<(usize, usize)>,
    /// Text contents.
    texts: Vec<(usize, usize)>,
}

fn pieces(src: &str) -> Pieces {
    let mut r = Reader::from_str(src);
    let mut p = Pieces::default();
    let mut open: Vec<usize> = Vec::new();
    loop {
        let at = r.buffer_position() as usize;
        let ev = match r.read_event() {
            Ok(e) => e,
            Err(_) => break,
        };
        let end = r.buffer_position() as usize;
        match ev {
            Event::Start(_) => {
                p.elements.push((at, 0, open.last().copied()));
                p.tags.push((at, end));
                open.push(p.elements.len() - 1);
            }
            Event::Empty(_) => {
                p.elements.push((at, end, open.last().copied()));
                p.tags.push((at, end));
            }
            Event::End(_) => {
                if let Some(i) = open.pop() {
                    p.elements[i].1 = end;
                }
            }
            Event::Text(_) => p.texts.push((at, end)),
            Event::Eof => break,
            _ => {}
        }
    }
    p.elements.retain(|e| e.1 > e.0);
    p
}

/// Attribute value ranges (inside the quotes) and whole-attribute ranges of the start tag `tag`
/// (offset `base` in the document).
fn attr_ranges(tag: &str, base: usize) -> Vec<((usize, usize), (usize, usize))> {
    let b = tag.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            let mut q = i + 1;
            while q < b.len() && b[q].is_ascii_whitespace() {
                q += 1;
            }
            if q < b.len() && (b[q] == b'"' || b[q] == b'\'') {
                let quote = b[q];
                let Some(close) = b[q + 1..].iter().position(|c| *c == quote) else {
                    break;
                };
                let close = q + 1 + close;
                let mut s = i;
                while s > 0 && b[s - 1].is_ascii_whitespace() {
                    s -= 1;
                }
                while s > 0 && !b[s - 1].is_ascii_whitespace() {
                    s -= 1;
                }
                out.push(((base + q + 1, base + close), (base + s, base + close + 1)));
                i = close + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

const ATTR_VALUES: &[&str] = &[
    "",
    " ",
    "x",
    "ext-value",
    "private",
    "reporting",
    "unknown",
    "2.00",
    "1.00",
    "2015-07-18T09:00:00-05:00",
    "2015-13-18T09:00:00Z",
    "-1",
    "0",
    "65536",
    "en-US",
    "a&amp;b",
    " spaced  value ",
];

const TEXTS: &[&str] = &[
    "",
    "   ",
    "abc",
    "2015-07-18T09:00:00Z",
    "2015-07-18",
    "-5",
    "12.5",
    " 80 ",
    "a &lt; b",
    "<![CDATA[x]]>",
    "line\r\nbreak",
];

/// The mutated documents of one fixture.
pub fn mutations(src: &str, out: &mut Vec<String>) {
    let p = pieces(src);
    let splice = |a: usize, b: usize, with: &str| format!("{}{}{}", &src[..a], with, &src[b..]);
    for (i, &(a, b, parent)) in p.elements.iter().enumerate() {
        out.push(splice(a, b, ""));
        out.push(splice(a, a, &src[a..b]));
        // Swap with the next sibling.
        if let Some(&(c, d, _)) = p.elements[i + 1..]
            .iter()
            .find(|e| e.2 == parent && e.0 >= b)
        {
            out.push(format!(
                "{}{}{}{}{}",
                &src[..a],
                &src[c..d],
                &src[b..c],
                &src[a..b],
                &src[d..]
            ));
        }
    }
    for &(a, b) in &p.tags {
        let tag = &src[a..b];
        // Unknown and foreign first children (into non-empty elements only).
        if !tag.ends_with("/>") {
            out.push(splice(b, b, "<Unknown/>"));
            out.push(splice(b, b, "<x:Foo xmlns:x=\"urn:example:x\">t</x:Foo>"));
            out.push(splice(b, b, "text"));
        }
        for ((va, vb), (wa, wb)) in attr_ranges(tag, a) {
            out.push(splice(wa, wb, ""));
            for v in ATTR_VALUES {
                out.push(splice(va, vb, v));
            }
            // The namespace of a declaration changed.
            if src[wa..wb].starts_with("xmlns") {
                out.push(splice(va, vb, "urn:ietf:params:xml:ns:iodef-1.0"));
                out.push(splice(va, vb, "urn:example:other"));
            }
        }
        // A prefix for the element (declared and undeclared).
        let name_end = tag[1..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .map(|n| a + 1 + n);
        if let Some(n) = name_end {
            if !tag.contains(':') || !tag[..n - a].contains(':') {
                out.push(splice(
                    a + 1,
                    n,
                    &format!(
                        "i:{} xmlns:i=\"urn:ietf:params:xml:ns:iodef-2.0\"",
                        &src[a + 1..n]
                    ),
                ));
                out.push(splice(a + 1, a + 1, "u:"));
            }
        }
        // The document cut here.
        out.push(src[..a].to_string());
    }
    for &(a, b) in &p.texts {
        if src[a..b].trim().is_empty() {
            continue;
        }
        for t in TEXTS {
            out.push(splice(a, b, t));
        }
    }
    // Whole-document edits.
    out.push(src.replace("xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\"", ""));
    out.push(src.replace("\n", "\r\n"));
    out.push(src.replace("  ", "\t"));
}

/// Everything the IODEF code says about one document.
fn describe(text: &str, o: &mut String) {
    use gridlink::iodef::{parse, Document};
    let doc = match parse(text.as_bytes()) {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(o, "error: {e}\n{e:?}");
            return;
        }
    };
    let problems = doc.validate();
    let _ = writeln!(o, "validate: {}", problems.len());
    for p in &problems {
        let _ = writeln!(o, "  {p}\n  {p:?}");
    }
    let _ = writeln!(o, "basic: {:?}", doc.validate_basic());
    let json = doc.to_json_string();
    let xml = doc.to_xml();
    let _ = writeln!(o, "json: {json}\nxml: {xml}");
    let _ = writeln!(o, "value same: {}", doc.to_json().to_string() == json);
    let _ = writeln!(o, "ids: {:?}", doc.incident_ids());
    let _ = writeln!(o, "summary: {:?}", doc.summary());
    let canon = doc.canonical();
    let _ = writeln!(o, "canonical: {}", canon.to_xml());
    match Document::from_json_str(&json) {
        Ok(back) => {
            let _ = writeln!(
                o,
                "json back: {}\n{:?}\n{}",
                back.to_xml(),
                back.validate(),
                back.to_json_string() == json
            );
            let _ = writeln!(o, "canonical equal: {}", back.canonical() == canon);
        }
        Err(e) => {
            let _ = writeln!(o, "json back error: {e}");
        }
    }
    match Document::from_xml(&xml) {
        Ok(back) => {
            let _ = writeln!(
                o,
                "xml back: {} {}",
                back.to_json_string() == json,
                back.to_xml() == xml
            );
        }
        Err(e) => {
            let _ = writeln!(o, "xml back error: {e}");
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dump = args
        .iter()
        .position(|a| a == "--dump")
        .and_then(|i| args.get(i + 1));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/iodef");
    let mut docs = Vec::new();
    let mut xml = Vec::new();
    files(&dir, "xml", &mut xml);
    for f in &xml {
        let Ok(src) = std::fs::read_to_string(f) else {
            continue;
        };
        docs.push(src.clone());
        mutations(&src, &mut docs);
    }
    let mut json = Vec::new();
    files(&dir, "json", &mut json);
    for f in &json {
        if let Ok(src) = std::fs::read_to_string(f) {
            docs.push(src);
        }
    }
    if args.iter().any(|a| a == "--list") {
        println!(
            "{} documents from {} fixtures",
            docs.len(),
            xml.len() + json.len()
        );
        return;
    }
    let mut out = dump.and_then(|p| std::fs::File::create(p).ok().map(std::io::BufWriter::new));
    let mut h = Sha256::new();
    let mut o = String::new();
    for (i, d) in docs.iter().enumerate() {
        o.clear();
        let _ = writeln!(o, "== {i}");
        describe(d, &mut o);
        h.update(o.as_bytes());
        if let Some(w) = out.as_mut() {
            let _ = w.write_all(o.as_bytes());
        }
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    println!(
        "{} documents from {} fixtures: sha256 {digest}",
        docs.len(),
        xml.len() + json.len()
    );
}
