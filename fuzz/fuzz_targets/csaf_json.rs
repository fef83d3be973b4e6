//! A CSAF 2.0 advisory or a CVE JSON 5 record as `publish`, a grid item or the CSAF poller reads it:
//! bounded JSON, format detection, the embedded JSON schema, the CSAF mandatory tests and the entry's
//! metadata (`VulnDocument::parse`). What it accepts must be accepted again from its own text.
#![no_main]

use gridlink::iodef::ValidationLevel;
use gridlink::vuln::VulnDocument;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for level in [ValidationLevel::Off, ValidationLevel::Strict] {
        if let Ok(doc) = VulnDocument::parse(data, 1 << 20, level) {
            let again = VulnDocument::parse(doc.text.as_bytes(), 1 << 20, level);
            assert!(again.is_ok(), "own text refused: {again:?}");
        }
    }
});
