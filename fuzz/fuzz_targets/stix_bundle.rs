//! A STIX 2.1 envelope as TAXII Add Objects reads it: JSON, then each object through
//! `stix::to_iodef`. Whatever it turns into an IODEF document must parse and validate strictly.
#![no_main]

use gridlink::iodef;
use gridlink::stix::{to_iodef, Outcome, MAX_OBJECTS};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(objects) = envelope.get("objects").and_then(Value::as_array) else {
        return;
    };
    if objects.len() > MAX_OBJECTS {
        return;
    }
    for o in objects {
        if let Outcome::Publish(xml) = to_iodef(o, objects, "fuzz") {
            let doc = iodef::parse(xml.as_bytes()).expect("gridlink parses the IODEF it made");
            let problems = doc.validate();
            assert!(problems.is_empty(), "{problems:?}\n{xml}");
        }
    }
});
