//! A RID message as `gridlink rid serve` reads it: the schema-checking parser, the RFC 6545 text rules
//! and the enclosed IODEF document (`rid::check`); a message it accepts (no problem of severity Error:
//! the endpoint refuses those with 400) must read back, once written, as the same message.
#![no_main]

use gridlink::rid::Severity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((msg, problems)) = gridlink::rid::check(data) {
        if problems.iter().any(|p| p.severity == Severity::Error) {
            return;
        }
        let again =
            gridlink::rid::parse(msg.to_xml().as_bytes()).expect("gridlink reads what it writes");
        assert_eq!(again, msg);
    }
});
