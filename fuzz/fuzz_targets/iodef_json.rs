//! RFC 8727 JSON → IODEF XML (the AtomPub JSON body, `iodef convert`):
//! read, validate, write XML, and the XML parses again.
#![no_main]

use gridlink::iodef::{parse, Document};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = Document::from_json_str(text) else {
        return;
    };
    let problems = doc.validate();
    let xml = doc.to_xml();
    let _ = doc.to_json_string();
    if problems.is_empty() {
        let back = parse(xml.as_bytes());
        assert!(back.is_ok(), "own XML not readable: {back:?}\n{xml}");
    }
});
