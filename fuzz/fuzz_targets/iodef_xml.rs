//! IODEF XML as any input reaches gridlink (publish, POST, poll, a grid
//! item): parse, strict validation, RFC 8727 JSON, and back.
#![no_main]

use gridlink::iodef::{parse, Document};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = parse(data) else { return };
    let problems = doc.validate();
    let json = doc.to_json_string();
    let _ = doc.to_xml();
    // What strict validation accepts, gridlink also writes and reads back
    // as JSON.
    if problems.is_empty() {
        let back = Document::from_json_str(&json);
        assert!(back.is_ok(), "own JSON not readable: {back:?}\n{json}");
    }
});
